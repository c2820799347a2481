/**
 * Caps the number of save/load/stat/remove calls in flight, like restic's per-backend
 * `connections` option: too many parallel writes thrash a disk and open too many
 * descriptors or sockets. list() streams and is not counted.
 */
import { Semaphore } from '../../core/concurrency.js';
import { LifeboatError } from '../../core/errors.js';
import type { Backend } from '../backend.js';
import { forward } from './forward.js';

export function withConcurrencyLimit(b: Backend, max: number): Backend {
  if (!Number.isSafeInteger(max) || max < 1) {
    throw new LifeboatError('INVALID_ARGUMENT', `concurrency limit must be at least 1, got ${max}`);
  }
  const slots = new Semaphore(max);
  async function limited<T>(fn: () => Promise<T>): Promise<T> {
    await slots.acquire();
    try {
      return await fn();
    } finally {
      slots.release();
    }
  }
  return {
    ...forward(b),
    save: (h, data, options) => limited(() => b.save(h, data, options)),
    load: (h, range, signal) => limited(() => b.load(h, range, signal)),
    stat: (h) => limited(() => b.stat(h)),
    remove: (h) => limited(() => b.remove(h)),
  };
}
