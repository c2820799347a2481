/**
 * Fault injection for crash-safety tests (never used in production wiring unless the test
 * hook in open-backend.ts is set).
 *
 * - `killAfterSaves: k` SIGKILLs the process as soon as the k-th successful save has
 *   resolved: that file is complete, no later save has started, and nothing gets a chance to
 *   clean up — the closest a test gets to pulling the plug. Saves running concurrently may
 *   be anywhere, as in a real crash.
 * - `failAfterSaves: k` lets the first k save calls through and makes every later one throw
 *   LifeboatError IO (not retryable) without touching the inner backend.
 */
import { LifeboatError } from '../../core/errors.js';
import type { Backend } from '../backend.js';
import { forward } from './forward.js';

export interface FaultOptions {
  killAfterSaves?: number;
  failAfterSaves?: number;
}

function checkCount(name: string, value: number | undefined, min: number): void {
  if (value !== undefined && (!Number.isSafeInteger(value) || value < min)) {
    throw new LifeboatError(
      'INVALID_ARGUMENT',
      `${name} must be an integer >= ${min}, got ${value}`,
    );
  }
}

export function withFaults(b: Backend, options: FaultOptions): Backend {
  checkCount('killAfterSaves', options.killAfterSaves, 1);
  checkCount('failAfterSaves', options.failAfterSaves, 0);
  let calls = 0;
  let succeeded = 0;
  return {
    ...forward(b),
    async save(h, data, saveOptions) {
      const call = ++calls;
      if (options.failAfterSaves !== undefined && call > options.failAfterSaves) {
        throw new LifeboatError(
          'IO',
          `injected fault: save #${call} of ${h.type} ${h.name} fails (failAfterSaves=${options.failAfterSaves})`,
          { details: { injected: true } },
        );
      }
      await b.save(h, data, saveOptions);
      if (++succeeded === options.killAfterSaves) process.kill(process.pid, 'SIGKILL');
    },
  };
}
