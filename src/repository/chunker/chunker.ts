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

// The tables of the polynomial being rolled live in module constants, and roll() hands its
// digest back through module variables. Measured in V8 (Node 20): with tables passed in as
// arguments or fields the loop ran ~1.5× slower (too many live registers; constant typed
// arrays let TurboFan fold their base and length), and any property access after the loop
// deoptimized it on every call. Chunkers with different polynomials take turns by copying
// their 4 KiB of tables in (activate), which is negligible per scan() call.
const OUT_LO = new Int32Array(256);
const OUT_HI = new Int32Array(256);
const MOD_LO = new Int32Array(256);
const MOD_HI = new Int32Array(256);
let activeTables: RabinTables | undefined;
let activeShift = 0;
let rolledHi = 0;
let rolledLo = 0;

function activate(t: RabinTables): void {
  if (activeTables === t) return;
  OUT_LO.set(t.outLo);
  OUT_HI.set(t.outHi);
  MOD_LO.set(t.modLo);
  MOD_HI.set(t.modHi);
  activeShift = t.hiShift;
  activeTables = t;
}

/**
 * Rolls the digest (hi, lo) over src[from, to) with the active tables, where the byte
 * leaving the window for src[i] is src[i − 64]. Stops at the first byte at or after `armed`
 * whose digest has the split bits zero and returns its index, else returns `to`; the final
 * digest is left in rolledHi/rolledLo. (One exit after the loop: a `return` inside it made
 * V8's code a third slower.)
 */
function roll(
  src: Uint8Array,
  from: number,
  to: number,
  armed: number,
  hi: number,
  lo: number,
): number {
  const shift = activeShift;
  let i = from;
  for (; i < to; i++) {
    const b = src[i]!;
    const o = src[i - WINDOW_SIZE]!;
    // Remove the leaving byte, shift the new one in, then reduce the byte that crossed x^deg.
    hi ^= OUT_HI[o]!;
    lo ^= OUT_LO[o]!;
    const idx = hi >>> shift;
    hi = ((hi << 8) | (lo >>> 24)) ^ MOD_HI[idx]!;
    lo = ((lo << 8) | b) ^ MOD_LO[idx]!;
    if ((lo & SPLIT_MASK) === 0 && i >= armed) break;
  }
  rolledHi = hi;
  rolledLo = lo;
  return i;
}

/**
 * Finds chunk boundaries in a byte stream fed in arbitrary pieces. Not safe for interleaved
 * use by two streams; make one Chunker per stream (tables are shared and cached).
 */
export class Chunker {
  private readonly t: RabinTables;
  /** The last 64 bytes hashed, oldest first. */
  private readonly window = new Uint8Array(WINDOW_SIZE);
  /** Window followed by the first bytes of a scan, so roll() finds every leaving byte. */
  private readonly scratch = new Uint8Array(2 * WINDOW_SIZE);
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
    // A zeroed window into which the byte 1 was slid: digest = ((0 << 8) | 1) ^ mod[0] = 1,
    // and the 1 leaves the window 64 bytes later, exactly as restic primes each chunk.
    this.window.fill(0);
    this.window[WINDOW_SIZE - 1] = 1;
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
    let first = start;
    if (this.skip > 0) {
      const n = end - first;
      if (this.skip >= n) {
        this.skip -= n;
        this.count += n;
        return -1;
      }
      first += this.skip;
      this.count += this.skip;
      this.skip = 0;
    }
    // Hash [first, limit): never past MAX_CHUNK. A digest match counts only once the chunk
    // holds MIN_CHUNK bytes, i.e. from index `armed` on.
    const n = Math.min(end - first, MAX_CHUNK - this.count);
    const limit = first + n;
    const armed = first + (MIN_CHUNK - 1 - this.count);
    if (n === 0) return -1;

    // The first (up to) 64 bytes run in scratch, behind the window, whose bytes leave first.
    const head = Math.min(n, WINDOW_SIZE);
    const s = this.scratch;
    s.set(this.window, 0);
    s.set(buf.subarray(first, first + head), WINDOW_SIZE);
    activate(this.t);
    const shift = first - WINDOW_SIZE;
    let at = roll(s, WINDOW_SIZE, WINDOW_SIZE + head, armed - shift, this.hi, this.lo);
    at += shift;
    if (at === first + head && head < n) {
      // A plain Uint8Array view keeps roll() monomorphic: Buffer has a different map.
      const view = new Uint8Array(buf.buffer, buf.byteOffset, limit);
      at = roll(view, first + head, limit, armed, rolledHi, rolledLo);
    }
    const cut = at < limit ? at + 1 : -1;
    if (cut >= 0 || this.count + n === MAX_CHUNK) {
      this.reset();
      return cut >= 0 ? cut : limit;
    }
    this.hi = rolledHi;
    this.lo = rolledLo;
    this.window.set(
      head < n ? buf.subarray(limit - WINDOW_SIZE, limit) : s.subarray(head, head + WINDOW_SIZE),
    );
    this.count += n;
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
