/**
 * A bit set over blob ids in shared memory, written by the main thread and read by the chunk
 * workers: a clear bit means "this data blob is certainly neither in the index nor being
 * stored", so the worker compresses and encrypts a small chunk itself; a set bit means "maybe
 * known", and the worker leaves the chunk to the main thread, which knows for sure. It only
 * steers work: the main thread still decides what is stored, so a stale or saturated filter
 * costs time, never correctness.
 */

/** Bits per expected id: at 16, about 6% of new ids look known. */
const BITS_PER_ID = 16;
const MIN_BITS = 1 << 20;
const MAX_BITS = 1 << 28;

export class KnownFilter {
  private readonly bits: Uint8Array;
  private readonly mask: number;

  private constructor(readonly buffer: SharedArrayBuffer) {
    this.bits = new Uint8Array(buffer);
    this.mask = buffer.byteLength * 8 - 1;
  }

  /** A filter sized for about `expected` ids (the index plus what a backup may add). */
  static create(expected: number): KnownFilter {
    let size = MIN_BITS;
    while (size < expected * BITS_PER_ID && size < MAX_BITS) size *= 2;
    return new KnownFilter(new SharedArrayBuffer(size / 8));
  }

  /** A worker's view of the main thread's filter. */
  static attach(buffer: SharedArrayBuffer): KnownFilter {
    return new KnownFilter(buffer);
  }

  /** Ids are SHA-256 in hex, uniformly distributed: their first 32 bits pick the bit. */
  private bit(id: string): number {
    return parseInt(id.slice(0, 8), 16) & this.mask;
  }

  add(id: string): void {
    const b = this.bit(id);
    this.bits[b >>> 3] = this.bits[b >>> 3]! | (1 << (b & 7));
  }

  mayHave(id: string): boolean {
    const b = this.bit(id);
    return (this.bits[b >>> 3]! & (1 << (b & 7))) !== 0;
  }
}
