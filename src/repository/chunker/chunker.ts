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

export const MIN_CHUNK = 512 * 1024;
export const MAX_CHUNK = 8 * 1024 * 1024;

const SPLIT_MASK = (1 << 20) - 1;
const WINDOW_MASK = WINDOW_SIZE - 1;

/**
 * Finds chunk boundaries in a byte stream fed in arbitrary pieces. Not safe for interleaved
 * use by two streams; make one Chunker per stream (tables are shared and cached).
 */
export class Chunker {
  private readonly t: RabinTables;
  private readonly window = new Uint8Array(WINDOW_SIZE);
  /** Index of the oldest byte in the window ring. */
  private wpos = 0;
  /** The digest (< 2^53) as two 32-bit halves. */
  private hi = 0;
  private lo = 0;
  /** Bytes still to skip unhashed at the start of this chunk. */
  private skip = 0;
  private count = 0;

  constructor(pol: bigint) {
    this.t = rabinTables(pol);
    this.reset();
  }

  /** Bytes in the current (unfinished) chunk. */
  get pending(): number {
    return this.count;
  }

  /** Starts a new chunk, forgetting any bytes seen so far. */
  reset(): void {
    this.window.fill(0);
    // Slide in the byte 1: digest = ((0 << 8) | 1) ^ mod[0] = 1, and the 1 leaves the window
    // 64 bytes later, exactly as restic primes each chunk.
    this.window[0] = 1;
    this.wpos = 1;
    this.hi = 0;
    this.lo = 1;
    this.count = 0;
    this.skip = MIN_CHUNK - WINDOW_SIZE;
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
    let i = start;
    if (this.skip > 0) {
      const n = end - i;
      if (this.skip >= n) {
        this.skip -= n;
        this.count += n;
        return -1;
      }
      i += this.skip;
      this.count += this.skip;
      this.skip = 0;
    }

    const { outLo, outHi, modLo, modHi, hiShift } = this.t;
    const win = this.window;
    let wpos = this.wpos;
    let hi = this.hi;
    let lo = this.lo;
    const first = i;
    // Bytes [first, limit) may be hashed before the chunk reaches MAX_CHUNK.
    const limit = Math.min(end, first + (MAX_CHUNK - this.count));
    // A digest match only counts once the chunk holds MIN_CHUNK bytes, i.e. from this index.
    const armed = first + (MIN_CHUNK - 1 - this.count);

    // Per byte: remove the byte leaving the window (out table), shift the new byte in and
    // reduce the top byte that crossed x^deg (mod table). While the leaving byte was seen in
    // an earlier call it comes from the ring...
    const ringEnd = Math.min(limit, first + WINDOW_SIZE);
    for (; i < ringEnd; i++) {
      const b = buf[i]!;
      const o = win[wpos]!;
      win[wpos] = b;
      wpos = (wpos + 1) & WINDOW_MASK;
      hi ^= outHi[o]!;
      lo ^= outLo[o]!;
      const idx = hi >>> hiShift;
      hi = ((hi << 8) | (lo >>> 24)) ^ modHi[idx]!;
      lo = ((lo << 8) | b) ^ modLo[idx]!;
      if ((lo & SPLIT_MASK) === 0 && i >= armed) {
        this.reset();
        return i + 1;
      }
    }
    // ...after that it is simply 64 bytes back in buf, which saves the ring's load and store.
    for (; i < limit; i++) {
      const b = buf[i]!;
      const o = buf[i - WINDOW_SIZE]!;
      hi ^= outHi[o]!;
      lo ^= outLo[o]!;
      const idx = hi >>> hiShift;
      hi = ((hi << 8) | (lo >>> 24)) ^ modHi[idx]!;
      lo = ((lo << 8) | b) ^ modLo[idx]!;
      if ((lo & SPLIT_MASK) === 0 && i >= armed) {
        this.reset();
        return i + 1;
      }
    }
    if (this.count + (limit - first) === MAX_CHUNK) {
      this.reset();
      return limit;
    }
    if (limit - first >= WINDOW_SIZE) {
      win.set(buf.subarray(limit - WINDOW_SIZE, limit));
      wpos = 0;
    }
    this.hi = hi;
    this.lo = lo;
    this.wpos = wpos;
    this.count += limit - first;
    return -1;
  }
}

/**
 * Splits a byte stream into chunks with restic's boundaries; yields each chunk as one newly
 * allocated Buffer (the last may be shorter than MIN_CHUNK; an empty source yields nothing).
 * Source buffers are held by reference until the chunk they belong to is emitted, so the
 * producer must not modify a buffer after yielding it (Node streams never do). Every byte is
 * copied exactly once. Throws CANCELLED when `signal` aborts.
 */
export async function* chunkStream(
  source: AsyncIterable<Uint8Array>,
  pol: bigint,
  signal?: AbortSignal,
): AsyncGenerator<Buffer> {
  const chunker = new Chunker(pol);
  let parts: Uint8Array[] = [];
  let size = 0;
  const take = (): Buffer => {
    const out = Buffer.allocUnsafe(size);
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
