/**
 * Bounds the blob saves that run in the background while the archiver moves on. Every blob's
 * id is known before it is stored (it is the hash of the plaintext), so trees can be built
 * without waiting for compression and upload; drain() must be awaited before the index and
 * snapshot are written.
 */
import { Semaphore } from '../../core/concurrency.js';

export class InFlight {
  private readonly slots: Semaphore;
  private readonly running = new Set<Promise<void>>();
  private failure: { err: unknown } | undefined;

  constructor(limit: number) {
    this.slots = new Semaphore(limit);
  }

  /** Waits for a free slot, then starts task in the background. Throws an earlier failure. */
  async start(task: () => Promise<unknown>): Promise<void> {
    this.throwIfFailed();
    await this.slots.acquire();
    const p: Promise<void> = task().then(
      () => undefined,
      (err: unknown) => {
        this.failure ??= { err };
      },
    );
    const tracked = p.finally(() => {
      this.slots.release();
      this.running.delete(tracked);
    });
    this.running.add(tracked);
  }

  async drain(): Promise<void> {
    while (this.running.size > 0) await Promise.all(this.running);
    this.throwIfFailed();
  }

  throwIfFailed(): void {
    if (this.failure) throw this.failure.err;
  }
}
