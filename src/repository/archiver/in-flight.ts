/**
 * Bounds the blob saves that run in the background while the archiver moves on. Every blob's
 * id is known before it is stored (it is the hash of the plaintext), so trees can be built
 * without waiting for compression and upload; drain() must be awaited before the index and
 * snapshot are written.
 *
 * The archiver bounds bytes, not tasks (size = blob length): chunks range from 512 KiB to
 * 8 MiB, and peak memory (compared with restic's in bench/) is what the bound is for. With
 * the default size of 1 the budget counts tasks.
 */
export class InFlight {
  private readonly running = new Set<Promise<void>>();
  private failure: { err: unknown } | undefined;
  private bytes = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly maxBytes: number) {}

  /**
   * Waits until `size` more bytes fit in the budget (a task larger than the whole budget runs
   * alone), then starts task in the background. Throws an earlier task's failure.
   */
  async start(task: () => Promise<unknown>, size = 1): Promise<void> {
    this.throwIfFailed();
    while (this.bytes > 0 && this.bytes + size > this.maxBytes) {
      await new Promise<void>((r) => this.waiting.push(r));
      this.throwIfFailed();
    }
    this.bytes += size;
    const tracked: Promise<void> = task()
      .then(
        () => undefined,
        (err: unknown) => {
          this.failure ??= { err };
        },
      )
      .finally(() => {
        this.bytes -= size;
        this.running.delete(tracked);
        for (const w of this.waiting.splice(0)) w();
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
