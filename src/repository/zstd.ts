/**
 * zstd for blobs and unpacked files (restic design: v2 repositories compress with zstd, one
 * frame per blob). Two bindings, each for what it does best:
 * - the asynchronous one runs on libuv's thread pool, so a large blob compresses while the
 *   calling thread goes on;
 * - the synchronous one reuses one zstd context per thread and per level: for a small blob a
 *   thread-pool round trip costs more than the compression itself (measured here: 50-80 µs of
 *   CPU per call on top of the work, 2.5x the total for 20 KiB blobs), so small blobs are
 *   compressed where they are, preferably on a worker thread.
 *
 * Decompression is bounded before any work is done, because the data may be hostile: a few
 * KiB of zstd can claim or produce gigabytes (see zstd-frame.ts).
 */
import { createRequire } from 'node:module';
import { Compressor, Decompressor } from 'zstd-napi';
import { LifeboatError } from '../core/errors.js';
import { decodedSizeBound, withContentSize } from './zstd-frame.js';

export type CompressionMode = 'auto' | 'off' | 'max';

interface ZstdBinding {
  compress(data: Buffer, level?: number): Promise<Buffer>;
  decompress(data: Buffer): Promise<Buffer>;
}
// The package's index.js (1.2.x) drops the level argument; its native binding honours it.
// Loaded on first use: worker threads and commands that only handle small blobs never need
// it, and loading it costs ~40 ms (it asks the process report which libc it runs on).
let binding: ZstdBinding | undefined;
function pooled(): ZstdBinding {
  return (binding ??= createRequire(import.meta.url)(
    '@mongodb-js/zstd/bindings.js',
  ) as ZstdBinding);
}

const LEVELS: Record<Exclude<CompressionMode, 'off'>, number> = { auto: 3, max: 19 };

/** Largest plaintext we accept for an unpacked file (index, snapshot, lock) or a blob. */
export const MAX_DECODED = 256 * 1024 * 1024;

export async function zstdCompress(data: Uint8Array, mode: Exclude<CompressionMode, 'off'>) {
  return pooled().compress(toBuffer(data), LEVELS[mode]);
}

/** This thread's compression contexts, one per level, made on first use. */
const compressors = new Map<number, Compressor>();

/** Compresses on the calling thread, without a thread-pool round trip. */
export function zstdCompressSync(data: Uint8Array, mode: Exclude<CompressionMode, 'off'>): Buffer {
  const level = LEVELS[mode];
  let c = compressors.get(level);
  if (!c) {
    c = new Compressor();
    c.setParameters({ compressionLevel: level });
    compressors.set(level, c);
  }
  return c.compress(data);
}

let decompressor: Decompressor | undefined;

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
): Promise<Buffer> {
  const input = boundedInput(data, expected, what, limit);
  let out: Buffer;
  try {
    out = await pooled().decompress(input);
  } catch (cause) {
    throw corrupt(what, 'zstd data is corrupt', cause);
  }
  return checkedOutput(out, expected, what);
}

/** zstdDecompress on the calling thread (for small blobs, see the top of this file). */
export function zstdDecompressSync(
  data: Uint8Array,
  expected?: number,
  what = 'blob',
  limit = MAX_DECODED,
): Buffer {
  const input = boundedInput(data, expected, what, limit);
  let out: Buffer;
  try {
    decompressor ??= new Decompressor();
    out = decompressor.decompress(input);
  } catch (cause) {
    throw corrupt(what, 'zstd data is corrupt', cause);
  }
  return checkedOutput(out, expected, what);
}

function corrupt(what: string, message: string, cause?: unknown): LifeboatError {
  return new LifeboatError('INTEGRITY', `${what}: ${message}`, cause ? { cause } : {});
}

function boundedInput(
  data: Uint8Array,
  expected: number | undefined,
  what: string,
  limit: number,
): Buffer {
  const input = toBuffer(data);
  if (expected !== undefined) {
    if (expected > limit) {
      throw corrupt(what, `claims ${expected} bytes uncompressed, more than ${limit}`);
    }
    const framed = withContentSize(input, expected);
    if (typeof framed === 'string') throw corrupt(what, framed);
    return framed;
  }
  const bound = decodedSizeBound(input);
  if (typeof bound === 'string') throw corrupt(what, bound);
  if (bound > limit)
    throw corrupt(what, `would decompress to up to ${bound} bytes, more than ${limit}`);
  return input;
}

function checkedOutput(out: Buffer, expected: number | undefined, what: string): Buffer {
  if (expected !== undefined && out.length !== expected) {
    throw corrupt(what, `decompressed to ${out.length} bytes, index says ${expected}`);
  }
  return out;
}

function toBuffer(data: Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.length);
}
