/**
 * zstd for blobs and unpacked files (restic design: v2 repositories compress with zstd, one
 * frame per blob). The binding runs on libuv's thread pool, so compression overlaps with
 * chunking and hashing on the main thread without worker threads.
 *
 * Decompression is bounded before any work is done, because the data may be hostile: a few
 * KiB of zstd can claim or produce gigabytes (see zstd-frame.ts).
 */
import { createRequire } from 'node:module';
import { LifeboatError } from '../core/errors.js';
import { decodedSizeBound, withContentSize } from './zstd-frame.js';

export type CompressionMode = 'auto' | 'off' | 'max';

interface ZstdBinding {
  compress(data: Buffer, level?: number): Promise<Buffer>;
  decompress(data: Buffer): Promise<Buffer>;
}
// The package's index.js (1.2.x) drops the level argument; its native binding honours it.
const binding = createRequire(import.meta.url)('@mongodb-js/zstd/bindings.js') as ZstdBinding;

const LEVELS: Record<Exclude<CompressionMode, 'off'>, number> = { auto: 3, max: 19 };

/** Largest plaintext we accept for an unpacked file (index, snapshot, lock) or a blob. */
export const MAX_DECODED = 256 * 1024 * 1024;

export async function zstdCompress(data: Uint8Array, mode: Exclude<CompressionMode, 'off'>) {
  return binding.compress(toBuffer(data), LEVELS[mode]);
}

/**
 * Decompresses zstd data. With `expected` (the index's uncompressed_length) the frame is made
 * to declare exactly that size, so the decoder allocates that much and fails on anything
 * longer; without it, an upper bound is computed from the block headers and checked first.
 */
export async function zstdDecompress(
  data: Uint8Array,
  expected?: number,
  what = 'blob',
  limit = MAX_DECODED,
) {
  const fail = (message: string, cause?: unknown) =>
    new LifeboatError('INTEGRITY', `${what}: ${message}`, cause ? { cause } : {});
  let input = toBuffer(data);
  if (expected !== undefined) {
    if (expected > limit) throw fail(`claims ${expected} bytes uncompressed, more than ${limit}`);
    const framed = withContentSize(input, expected);
    if (typeof framed === 'string') throw fail(framed);
    input = framed;
  } else {
    const bound = decodedSizeBound(input);
    if (typeof bound === 'string') throw fail(bound);
    if (bound > limit) throw fail(`would decompress to up to ${bound} bytes, more than ${limit}`);
  }
  let out: Buffer;
  try {
    out = await binding.decompress(input);
  } catch (cause) {
    throw fail('zstd data is corrupt', cause);
  }
  if (expected !== undefined && out.length !== expected) {
    throw fail(`decompressed to ${out.length} bytes, index says ${expected}`);
  }
  return out;
}

function toBuffer(data: Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.length);
}
