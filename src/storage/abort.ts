/** Cancellation helpers: an aborted signal becomes LifeboatError CANCELLED (STYLE.md #7). */
import { LifeboatError } from '../core/errors.js';

export function throwIfAborted(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) {
    throw new LifeboatError('CANCELLED', `${what} cancelled`, { cause: signal.reason });
  }
}

/** Waits `ms` milliseconds; rejects with CANCELLED as soon as the signal aborts. */
export function sleep(ms: number, signal: AbortSignal | undefined, what: string): Promise<void> {
  throwIfAborted(signal, what);
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(new LifeboatError('CANCELLED', `${what} cancelled`, { cause: signal?.reason }));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
