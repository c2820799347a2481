/**
 * Content-defined chunking with the same boundaries as restic (RESTIC-FORMAT.md, "Chunking";
 * github.com/restic/chunker). Equal boundaries for equal data and polynomial are what lets
 * Lifeboat and restic deduplicate against each other, so every detail below matters:
 *
 * - a chunk is cut after the byte where the Rabin digest of the last 64 bytes has its low
 *   20 bits all zero, provided the chunk then holds at least MIN_CHUNK bytes, or at MAX_CHUNK;
 * - each chunk starts from a zeroed window into which the byte 1 has been slid (digest = 1),
 *   and its first MIN_CHUNK − 64 bytes are skipped without hashing (they cannot end a chunk).
 */
import { LifeboatError } from '../../core/errors.js';
import { WINDOW_SIZE, rabinTables } from './rabin-tables.js';
import type { RabinTables } from './rabin-tables.js';
import { BLOCK, DATA, instantiateCutFinder, type CutFinder } from './rabin-wasm.js';

export const MIN_CHUNK = 512 * 1024;
export const MAX_CHUNK = 8 * 1024 * 1024;

/**
 * The cut-point search runs in WebAssembly (rabin-wasm.ts): one instance per thread, shared
 * by every Chunker on it (calls are synchronous, and each call writes the bytes it searches),
 * with the tables of the polynomial last used.
 */
let finder: CutFinder | undefined;
let finderTables: RabinTables | undefined;

function cutFinder(t: RabinTables): CutFinder {
  const f = (finder ??= instantiateCutFinder());
  if (finderTables !== t) {
    f.setTables(t);
    finderTables = t;
  }
  return f;
}

/**
 * Finds chunk boundaries in a byte stream fed in arbitrary pieces. Not safe for interleaved
 * use by two streams; make one Chunker per stream (tables are shared and cached).
 *
 * restic hashes each chunk from byte MIN_CHUNK − 64 on, starting from a window of zeros into
 * which the byte 1 was slid, and cuts after the first byte at or past MIN_CHUNK − 1 whose
 * digest has the split bits zero. By then the 64 window bytes are all chunk bytes, and the
 * digest is the fingerprint of exactly those 64 bytes: so the cut is the first position from
 * MIN_CHUNK − 1 on whose 64 bytes (itself and the 63 before) fingerprint to a split, and
 * bytes before that are never hashed here at all.
 */
export class Chunker {
  private readonly t: RabinTables;
  /** The last 64 bytes of the stream before the next scan, for the first positions' windows. */
  private readonly tail = new Uint8Array(WINDOW_SIZE);
  /** Bytes in the current (unfinished) chunk. */
  private count = 0;

  constructor(pol: bigint) {
    this.t = rabinTables(pol);
  }

  /** Bytes in the current (unfinished) chunk. */
  get pending(): number {
    return this.count;
  }

  /** Starts a new chunk, forgetting any bytes seen so far. */
  reset(): void {
    this.count = 0;
  }

  /**
   * Scans buf[start, end). Returns the offset just past the cut point if the current chunk
   * ends inside the range (the chunker is then already reset for the next chunk, which
   * begins at that offset), or -1 if all bytes belong to the still unfinished chunk.
   */
  scan(buf: Uint8Array, start: number, end: number): number {
    if (start < 0 || end > buf.length || start > end) {
      throw new LifeboatError('INTERNAL', `chunker: bad range [${start}, ${end})`);
    }
    // Never past MAX_CHUNK; positions are tested from MIN_CHUNK − 1 of the chunk on.
    const limit = start + Math.min(end - start, MAX_CHUNK - this.count);
    let from = Math.max(start, start + (MIN_CHUNK - 1 - this.count));
    if (from < limit) {
      const f = cutFinder(this.t);
      const mem = f.bytes;
      while (from < limit) {
        const n = Math.min(limit - from, BLOCK);
        // The 64 bytes before `from`: from this buffer, or partly from the previous pieces.
        const back = from - WINDOW_SIZE;
        if (back >= start) {
          mem.set(buf.subarray(back, from), DATA);
        } else {
          const fromTail = start - back;
          mem.set(this.tail.subarray(WINDOW_SIZE - fromTail), DATA);
          mem.set(buf.subarray(start, from), DATA + fromTail);
        }
        mem.set(buf.subarray(from, from + n), DATA + WINDOW_SIZE);
        const k = f.find(n);
        if (k < n) {
          this.reset();
          return from + k + 1;
        }
        from += n;
      }
    }
    if (this.count + (limit - start) === MAX_CHUNK) {
      this.reset();
      return limit;
    }
    this.count += limit - start;
    this.keepTail(buf, start, limit);
    return -1;
  }

  private keepTail(buf: Uint8Array, start: number, stop: number): void {
    const len = stop - start;
    if (len >= WINDOW_SIZE) {
      this.tail.set(buf.subarray(stop - WINDOW_SIZE, stop));
    } else {
      this.tail.copyWithin(0, len);
      this.tail.set(buf.subarray(start, stop), WINDOW_SIZE - len);
    }
  }
}

/**
 * Splits a byte stream into chunks with restic's boundaries; yields each chunk as one Buffer
 * from `alloc` (the last may be shorter than MIN_CHUNK; an empty source yields nothing).
 * Source buffers are held by reference until the chunk they belong to is emitted, so the
 * producer must not modify a buffer after yielding it (Node streams never do). Every byte is
 * copied exactly once. Throws CANCELLED when `signal` aborts.
 */
export async function* chunkStream(
  source: AsyncIterable<Uint8Array>,
  pol: bigint,
  signal?: AbortSignal,
  /** Where each chunk's bytes go: a buffer of exactly `size` bytes (default: a new one). */
  alloc: (size: number) => Buffer = (n) => Buffer.allocUnsafe(n),
): AsyncGenerator<Buffer> {
  const chunker = new Chunker(pol);
  let parts: Uint8Array[] = [];
  let size = 0;
  const take = (): Buffer => {
    const out = alloc(size);
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    parts = [];
    size = 0;
    return out;
  };
  const checkAbort = (): void => {
    if (signal?.aborted) {
      throw new LifeboatError('CANCELLED', 'chunking cancelled', { cause: signal.reason });
    }
  };
  checkAbort();
  for await (const piece of source) {
    checkAbort();
    let at = 0;
    while (at < piece.length) {
      const cut = chunker.scan(piece, at, piece.length);
      const stop = cut < 0 ? piece.length : cut;
      parts.push(piece.subarray(at, stop));
      size += stop - at;
      at = stop;
      if (cut >= 0) {
        yield take();
        checkAbort();
      }
    }
  }
  if (size > 0) yield take();
}
