/**
 * zstd for blobs and unpacked files (restic design: v2 repositories compress with zstd, one
 * frame per blob). The binding runs on libuv's thread pool, so compression overlaps with
 * chunking and hashing on the main thread without worker threads.
 */
import { compress, decompress } from '@mongodb-js/zstd';
import { LifeboatError } from '../core/errors.js';

export type CompressionMode = 'auto' | 'off' | 'max';

const LEVELS: Record<Exclude<CompressionMode, 'off'>, number> = { auto: 3, max: 15 };

export async function zstdCompress(data: Uint8Array, mode: Exclude<CompressionMode, 'off'>) {
  return compress(toBuffer(data), LEVELS[mode]);
}

/**
 * Decompresses one frame. When the expected size is known (the index records
 * uncompressed_length) a frame that declares another size is rejected before any work is
 * done, so a hostile blob cannot make us allocate gigabytes.
 */
export async function zstdDecompress(data: Uint8Array, expected?: number, what = 'blob') {
  const declared = frameContentSize(data);
  if (expected !== undefined && declared !== undefined && declared !== expected) {
    throw new LifeboatError(
      'INTEGRITY',
      `${what}: zstd frame declares ${declared} bytes, index says ${expected}`,
    );
  }
  let out: Buffer;
  try {
    out = await decompress(toBuffer(data));
  } catch (cause) {
    throw new LifeboatError('INTEGRITY', `${what}: zstd data is corrupt`, { cause });
  }
  if (expected !== undefined && out.length !== expected) {
    throw new LifeboatError(
      'INTEGRITY',
      `${what}: decompressed to ${out.length} bytes, index says ${expected}`,
    );
  }
  return out;
}

/** Reads Frame_Content_Size from a zstd frame header (RFC 8878 §3.1.1.1), if present. */
export function frameContentSize(data: Uint8Array): number | undefined {
  if (data.length < 6) return undefined;
  if (data[0] !== 0x28 || data[1] !== 0xb5 || data[2] !== 0x2f || data[3] !== 0xfd) {
    return undefined;
  }
  const fhd = data[4]!;
  const fcsFlag = fhd >> 6;
  const singleSegment = (fhd >> 5) & 1;
  const dictIdFlag = fhd & 3;
  const pos = 5 + (singleSegment ? 0 : 1) + [0, 1, 2, 4][dictIdFlag]!;
  const fcsBytes = [singleSegment ? 1 : 0, 2, 4, 8][fcsFlag]!;
  if (fcsBytes === 0 || pos + fcsBytes > data.length) return undefined;
  const view = new DataView(data.buffer, data.byteOffset + pos, fcsBytes);
  switch (fcsBytes) {
    case 1:
      return view.getUint8(0);
    case 2:
      return view.getUint16(0, true) + 256;
    case 4:
      return view.getUint32(0, true);
    default: {
      const big = view.getBigUint64(0, true);
      return big > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(big);
    }
  }
}

function toBuffer(data: Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.length);
}
