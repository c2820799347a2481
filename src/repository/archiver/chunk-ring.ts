/**
 * A ring buffer in shared memory through which one chunk worker hands chunks (plaintext or
 * sealed blobs) to the main thread without allocating anything per chunk: the worker writes a
 * record into the ring and posts only its place; the main thread reads it in place, stores it
 * and marks it consumed, which frees its bytes for the worker to reuse.
 *
 * Why not transfer one ArrayBuffer per chunk: each chunk then cost several buffers of its
 * size on two threads, freed only when each thread's garbage collector got round to them, and
 * glibc kept much of the freed memory; the backup of a 1 GiB tree peaked at 3x restic's
 * resident memory. A fixed ring bounds it.
 *
 * Positions are virtual (bytes ever reserved, a Number) and map to `position % size`. A record
 * is contiguous: one that does not fit before the end of the ring starts at the beginning of
 * the next lap, and the bytes skipped are freed with it. The main thread frees records in the
 * order they were written (RingReader), so one shared counter, `released`, says how far the
 * worker may reuse the ring; the worker blocks on it (Atomics.wait) when the ring is full.
 */

export interface RingSetup {
  data: SharedArrayBuffer;
  /** One BigInt64: the virtual position up to which the main thread has released records. */
  control: SharedArrayBuffer;
}

export function createRing(size: number): RingSetup {
  return { data: new SharedArrayBuffer(size), control: new SharedArrayBuffer(8) };
}

/** How long one wait lasts before the worker looks again (so terminate() is never stuck). */
const WAIT_MS = 100;

/** The worker's side: reserves room for a record, then commits the bytes it used. */
export class RingWriter {
  readonly bytes: Buffer;
  private readonly released: BigInt64Array;
  private readonly size: number;
  private head = 0;
  private reserved: { start: number; length: number } | undefined;
  /**
   * The virtual bytes the last restart skipped ([from, to)): never written, and everything
   * before `from` was released when they were skipped.
   */
  private skipped = { from: 0, to: 0 };

  constructor(setup: RingSetup) {
    this.bytes = Buffer.from(setup.data);
    this.released = new BigInt64Array(setup.control);
    this.size = setup.data.byteLength;
  }

  /** Bytes the main thread has not released yet. */
  get unreleased(): number {
    return this.head - this.releasedPosition();
  }

  /** The virtual position up to which the main thread has released records. */
  releasedPosition(): number {
    return Number(Atomics.load(this.released, 0));
  }

  /**
   * Reserves `length` contiguous bytes and returns their offset in `bytes`. Blocks until the
   * main thread has released enough; `beforeWait` runs before each wait (the worker posts what
   * it has, or the main thread would never see the records it is to release).
   */
  reserve(length: number, beforeWait: () => void): number {
    if (this.reserved) throw new Error('ring: reserve() before commit() of the last record');
    if (length > this.size) throw new Error(`ring: record of ${length} bytes > ring ${this.size}`);
    const offset = this.head % this.size;
    // With every record released the next one starts a new lap too, at the ring's beginning:
    // a backup that reads little (a re-backup of a few changed files) then keeps reusing the
    // first pages instead of touching the whole ring once (bench/'s 1% re-backup reads ~7
    // MiB: that many resident MiB of the 12 MiB ring otherwise).
    const restart = offset !== 0 && this.releasedPosition() === this.head;
    const start =
      restart || offset + length > this.size ? this.head + this.size - offset : this.head;
    if (restart) this.skipped = { from: this.head, to: start };
    // The record's bytes were last used by the lap before; everything before `head` being
    // released also frees them (skipping to the next lap jumps over bytes never used).
    let needed = Math.min(start + length - this.size, this.head);
    // Bytes whose last use falls in what a restart skipped were never written: only what
    // came before them must be released, and it was (a record after a restart would
    // otherwise wait for the one before it, with the rest of the ring free).
    if (needed > this.skipped.from && needed <= this.skipped.to) needed = this.skipped.from;
    for (let r = this.releasedPosition(); r < needed; r = this.releasedPosition()) {
      beforeWait();
      Atomics.wait(this.released, 0, BigInt(r), WAIT_MS);
    }
    this.reserved = { start, length };
    return start % this.size;
  }

  /** Ends the reservation: the record is its first `used` bytes. Returns its virtual end. */
  commit(used: number): number {
    const r = this.reserved;
    if (!r || used > r.length) throw new Error('ring: commit() without a matching reserve()');
    this.reserved = undefined;
    this.head = r.start + used;
    return this.head;
  }
}

/** A record as the main thread sees it: where it ends (virtual) and whether it is consumed. */
interface Pending {
  end: number;
  done: boolean;
}

/** The main thread's side: views records in place and releases them in order. */
export class RingReader {
  private readonly data: SharedArrayBuffer;
  private readonly released: BigInt64Array;
  private readonly pending: Pending[] = [];
  private first = 0;

  constructor(setup: RingSetup) {
    this.data = setup.data;
    this.released = new BigInt64Array(setup.control);
  }

  /**
   * Registers a record, in the order the worker wrote them, and returns its bytes (valid until
   * the returned release() is called) and the function that releases it. Releasing twice is
   * harmless.
   */
  take(offset: number, length: number, end: number): { bytes: Buffer; release: () => void } {
    const p: Pending = { end, done: false };
    this.pending.push(p);
    return {
      bytes: Buffer.from(this.data, offset, length),
      release: () => {
        p.done = true;
        this.advance();
      },
    };
  }

  private advance(): void {
    let end = -1;
    while (this.first < this.pending.length && this.pending[this.first]!.done) {
      end = this.pending[this.first]!.end;
      this.first++;
    }
    if (this.first > 1024 && this.first * 2 > this.pending.length) {
      this.pending.splice(0, this.first);
      this.first = 0;
    }
    if (end < 0) return;
    Atomics.store(this.released, 0, BigInt(end));
    Atomics.notify(this.released, 0);
  }
}
