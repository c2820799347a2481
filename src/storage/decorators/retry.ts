/**
 * Retries backend operations that failed with an error marked `retryable` (network blips,
 * a busy file), with exponential backoff and jitter. INTEGRITY and NOT_FOUND are never
 * retried: repeating a read of damaged or missing data cannot help and would hide it.
 */
import { isLifeboatError, LifeboatError } from '../../core/errors.js';
import { silentLogger, type Logger } from '../../core/ports.js';
import { sleep } from '../abort.js';
import type { Backend, FileInfo, FileType, Handle } from '../backend.js';
import { isAlreadyExists } from '../storage-errors.js';
import { forward } from './forward.js';

export interface RetryOptions {
  /** Total attempts including the first; default 5. */
  attempts?: number;
  /** Delay before the first retry, doubled for each further one; default 200 ms. */
  baseDelayMs?: number;
  /** Upper bound of one delay; default 10 s. */
  maxDelayMs?: number;
  logger?: Logger;
}

function isRetryable(err: unknown): err is LifeboatError {
  return (
    isLifeboatError(err) && err.retryable && err.code !== 'INTEGRITY' && err.code !== 'NOT_FOUND'
  );
}

export function withRetry(b: Backend, options: RetryOptions = {}): Backend {
  const attempts = options.attempts ?? 5;
  const baseDelayMs = options.baseDelayMs ?? 200;
  const maxDelayMs = options.maxDelayMs ?? 10_000;
  const logger = options.logger ?? silentLogger;
  if (!Number.isSafeInteger(attempts) || attempts < 1) {
    throw new LifeboatError(
      'INVALID_ARGUMENT',
      `retry attempts must be at least 1, got ${attempts}`,
    );
  }

  /** Waits before attempt `attempt + 1`, or rethrows when the error is final. */
  async function backoff(err: unknown, attempt: number, op: string, signal?: AbortSignal) {
    if (attempt >= attempts || !isRetryable(err)) throw err;
    // Full doubling with up to 50% jitter, so that parallel callers do not retry in step.
    const delayMs = Math.round(
      Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1)) * (0.5 + Math.random() / 2),
    );
    logger.warn('backend operation failed, retrying', {
      op,
      attempt,
      of: attempts,
      delayMs,
      code: err.code,
      error: err.message,
    });
    await sleep(delayMs, signal, op);
  }

  async function run<T>(
    op: string,
    signal: AbortSignal | undefined,
    fn: (attempt: number) => Promise<T>,
  ) {
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn(attempt);
      } catch (err) {
        await backoff(err, attempt, op, signal);
      }
    }
  }

  const label = (op: string, h: Handle) => `${op} ${h.type} ${h.name}`;

  return {
    ...forward(b),
    create: () => run('create', undefined, () => b.create()),
    hasConfig: () => run('hasConfig', undefined, () => b.hasConfig()),
    save: (h, data, opts) =>
      run(label('save', h), opts?.signal, async (attempt) => {
        try {
          await b.save(h, data, opts);
        } catch (err) {
          // A failed attempt may still have stored the file (e.g. the reply was lost). Saves
          // are atomic and every file but config is named by the hash of its content, so
          // finding the name taken on a retry means an earlier attempt succeeded.
          if (attempt > 1 && h.type !== 'config' && isAlreadyExists(err)) return;
          throw err;
        }
      }),
    load: (h, range, signal) => run(label('load', h), signal, () => b.load(h, range, signal)),
    stat: (h) => run(label('stat', h), undefined, () => b.stat(h)),
    remove: (h) => run(label('remove', h), undefined, () => b.remove(h)),
    list: (type, signal) => listWithRetry(type, signal),
  };

  /** A listing is retried only if it failed before yielding anything, never halfway. */
  async function* listWithRetry(type: FileType, signal?: AbortSignal): AsyncIterable<FileInfo> {
    for (let attempt = 1; ; attempt++) {
      let yielded = false;
      try {
        for await (const info of b.list(type, signal)) {
          yielded = true;
          yield info;
        }
        return;
      } catch (err) {
        if (yielded) throw err;
        await backoff(err, attempt, `list ${type}`, signal);
      }
    }
  }
}
