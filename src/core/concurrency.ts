/** Small concurrency helpers with no dependencies. */

/**
 * Runs fn over items with at most `limit` in flight. After a failure no new item starts; the
 * ones already running are waited for, then the first failure is thrown. So when mapLimit
 * settles, nothing it started is still running: a caller may clean up what the items wrote
 * (a PITR's WAL spool was removed while three other fetches still wrote into it: ENOTEMPTY
 * replaced the real error).
 */
export async function mapLimit<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T, i: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (!failure && next < items.length) {
      const i = next++;
      try {
        await fn(items[i]!, i);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  if (failure) throw failure.error;
}

/**
 * A counting semaphore: acquire() resolves when a slot is free. Waiters are served in order
 * from a queue read by index (Array.shift() is linear in the queue's length, and an archiver
 * may queue every entry of a large directory).
 */
export class Semaphore {
  private waiting: (() => void)[] = [];
  private head = 0;
  private free: number;

  constructor(slots: number) {
    this.free = slots;
  }

  async acquire(): Promise<void> {
    if (this.free > 0) {
      this.free--;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  release(): void {
    if (this.head === this.waiting.length) {
      this.free++;
      return;
    }
    const next = this.waiting[this.head++]!;
    if (this.head === this.waiting.length) {
      this.waiting = [];
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.waiting.length) {
      this.waiting = this.waiting.slice(this.head);
      this.head = 0;
    }
    next();
  }
}

/**
 * Starts an async iterable now instead of at its first use: its first next() is called at
 * once and its result handed out when the consumer asks for it, so whatever the source does
 * before its first item (a dump tool connecting and reading the catalog) overlaps other work.
 * close() ends the source if the consumer never (fully) read it; it is harmless afterwards.
 */
export interface Primed<T> extends AsyncIterable<T> {
  close(): Promise<void>;
}

export function prime<T>(source: AsyncIterable<T>): Primed<T> {
  const it = source[Symbol.asyncIterator]();
  let first: Promise<IteratorResult<T>> | undefined = it.next();
  // A failure surfaces when the consumer reads; until then it must not count as unhandled.
  first.catch(() => undefined);
  let taken = false;
  return {
    [Symbol.asyncIterator]() {
      if (taken) throw new Error('a primed iterable can be iterated only once');
      taken = true;
      return {
        next() {
          const r = first ?? it.next();
          first = undefined;
          return r;
        },
        async return(value?: unknown) {
          first = undefined;
          return (await it.return?.(value)) ?? { done: true, value: undefined };
        },
      };
    },
    async close() {
      // Wait for the pending first step (an async generator queues return() behind it).
      await first?.catch(() => undefined);
      first = undefined;
      await it.return?.(undefined);
    },
  };
}
