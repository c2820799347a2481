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
import { Decompressor } from 'zstd-napi';
import type * as ZstdNapiBinding from 'zstd-napi/binding.js';
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

// The package's native binding, for compressing into a caller's buffer (its Compressor class
// allocates the output). A CommonJS module whose exports ESM cannot see by name.
const { CCtx, DCtx, compressBound } = createRequire(import.meta.url)(
  'zstd-napi/binding.js',
) as typeof ZstdNapiBinding;
type CCtx = ZstdNapiBinding.CCtx;

const LEVELS: Record<Exclude<CompressionMode, 'off'>, number> = { auto: 3, max: 19 };

/** Largest plaintext we accept for an unpacked file (index, snapshot, lock) or a blob. */
export const MAX_DECODED = 256 * 1024 * 1024;

export async function zstdCompress(data: Uint8Array, mode: Exclude<CompressionMode, 'off'>) {
  return pooled().compress(toBuffer(data), LEVELS[mode]);
}

/** This thread's compression contexts, one per level, made on first use. */
const contexts = new Map<number, CCtx>();

function contextFor(level: number): CCtx {
  let c = contexts.get(level);
  if (!c) {
    c = new CCtx();
    contexts.set(level, c);
  }
  return c;
}

/** The most bytes zstdCompressInto may write for `length` bytes of input. */
export function zstdCompressBound(length: number): number {
  return compressBound(length);
}

/**
 * Compresses `data` into `dst` (at least zstdCompressBound(data.length) bytes) on the calling
 * thread and returns the compressed length. Nothing is allocated: chunk workers compress
 * straight into their shared ring (archiver/chunk-ring.ts).
 */
export function zstdCompressInto(
  dst: Uint8Array,
  data: Uint8Array,
  mode: Exclude<CompressionMode, 'off'>,
): number {
  const level = LEVELS[mode];
  return contextFor(level).compress(dst, data, level);
}

/** Compresses on the calling thread, without a thread-pool round trip. */
export function zstdCompressSync(data: Uint8Array, mode: Exclude<CompressionMode, 'off'>): Buffer {
  const out = Buffer.allocUnsafe(compressBound(data.length));
  const n = zstdCompressInto(out, data, mode);
  // Keep an exact copy when the bound wasted much (compressed text); else a view is fine.
  return n < out.length * 0.75 ? Buffer.from(out.subarray(0, n)) : out.subarray(0, n);
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

let dctx: ZstdNapiBinding.DCtx | undefined;

/**
 * Decompresses a frame of exactly `expected` bytes into `dst` (at least that long) on the
 * calling thread and returns the view of `dst` it filled. A frame that would produce more
 * fails inside zstd, which never writes past `expected`; one that produces less fails here.
 */
export function zstdDecompressInto(
  dst: Buffer,
  data: Uint8Array,
  expected: number,
  what = 'blob',
  limit = MAX_DECODED,
): Buffer {
  if (expected > limit) {
    throw corrupt(what, `claims ${expected} bytes uncompressed, more than ${limit}`);
  }
  let n: number;
  try {
    dctx ??= new DCtx();
    n = dctx.decompress(dst.subarray(0, expected), data);
  } catch (cause) {
    throw corrupt(what, 'zstd data is corrupt', cause);
  }
  return checkedOutput(dst.subarray(0, n), expected, what);
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
