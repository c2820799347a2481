import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LifeboatError, type ErrorCode } from '../../core/errors.js';
import type { Logger } from '../../core/ports.js';
import type { Backend, FileInfo, Handle } from '../backend.js';
import { collect, rejectsWith } from '../contract.js';
import { createMemBackend } from '../mem/mem-backend.js';
import { forward } from './forward.js';
import { withRetry } from './retry.js';

const h: Handle = { type: 'pack', name: 'ab'.repeat(32) };

/** A mem backend whose next `failures` calls fail with `error` (after doing the work if `late`). */
function flaky(error: () => unknown, failures: number, late = false) {
  const inner = createMemBackend();
  const state = { calls: 0, failures };
  const fail = async <T>(fn: () => Promise<T>): Promise<T> => {
    state.calls++;
    if (state.failures > 0 && !late) {
      state.failures--;
      throw error();
    }
    const result = await fn();
    if (state.failures > 0) {
      state.failures--;
      throw error();
    }
    return result;
  };
  const backend: Backend = {
    ...forward(inner),
    save: (hh, d, o) => fail(() => inner.save(hh, d, o)),
    load: (hh, r, s) => fail(() => inner.load(hh, r, s)),
    stat: (hh) => fail(() => inner.stat(hh)),
    remove: (hh) => fail(() => inner.remove(hh)),
  };
  return { inner, backend, state };
}

const transient = () => new LifeboatError('IO', 'connection reset', { retryable: true });

function recorder() {
  const warnings: Record<string, unknown>[] = [];
  const logger: Logger = {
    debug: () => undefined,
    info: () => undefined,
    warn: (_m, fields) => warnings.push(fields ?? {}),
    error: () => undefined,
  };
  return { logger, warnings };
}

test('retries retryable errors with growing delays, then succeeds', async () => {
  const { backend, inner, state } = flaky(transient, 3);
  const { logger, warnings } = recorder();
  const b = withRetry(backend, { baseDelayMs: 20, logger });
  await b.save(h, Buffer.from('data'));
  assert.equal(state.calls, 4);
  assert.deepEqual(await inner.load(h), Buffer.from('data'));
  const delays = warnings.map((w) => w.delayMs as number);
  assert.equal(delays.length, 3);
  delays.forEach((d, i) => {
    assert.ok(d >= 10 * 2 ** i && d <= 20 * 2 ** i, `delay ${i}: ${d}`);
  });
  state.failures = 1;
  assert.deepEqual(await b.load(h), Buffer.from('data'));
  state.failures = 1;
  assert.equal((await b.stat(h)).size, 4);
  state.failures = 1;
  await b.remove(h);
  await rejectsWith(inner.stat(h), 'NOT_FOUND');
});

test('gives up after the configured number of attempts with the last error', async () => {
  const { backend, state } = flaky(transient, 100);
  const b = withRetry(backend, { attempts: 3, baseDelayMs: 1 });
  await rejectsWith(b.load(h), 'IO');
  assert.equal(state.calls, 3);
});

test('never retries INTEGRITY, NOT_FOUND, non-retryable errors or foreign errors', async () => {
  const cases: [string, () => unknown][] = [
    ['INTEGRITY', () => new LifeboatError('INTEGRITY', 'short read', { retryable: true })],
    ['NOT_FOUND', () => new LifeboatError('NOT_FOUND', 'gone', { retryable: true })],
    ['IO', () => new LifeboatError('IO', 'disk full')],
    ['plain', () => new Error('bug')],
  ];
  for (const [name, error] of cases) {
    const { backend, state } = flaky(error, 1);
    await assert.rejects(withRetry(backend, { baseDelayMs: 1 }).stat(h), name);
    assert.equal(state.calls, 1, name);
  }
});

test('a retried save that finds its file already stored succeeds, except for config', async () => {
  const { backend, state } = flaky(transient, 1, true); // stores, then reports failure
  const b = withRetry(backend, { baseDelayMs: 1 });
  await b.save(h, Buffer.from('x'));
  assert.equal(state.calls, 2);
  state.failures = 1;
  await assert.rejects(
    b.save({ type: 'config', name: 'config' }, Buffer.from('c')),
    (e: unknown) => {
      return e instanceof LifeboatError && e.code === ('IO' satisfies ErrorCode) && !e.retryable;
    },
  );
  // A first attempt that finds the name taken is a real conflict.
  await assert.rejects(withRetry(backend).save(h, Buffer.from('y')));
});

test('list is retried only when it fails before yielding anything', async () => {
  const inner = createMemBackend();
  for (const n of ['01', '02'])
    await inner.save({ type: 'lock', name: n.repeat(32) }, Buffer.from(n));
  let calls = 0;
  let failAfter = 0; // yield this many items, then fail
  const backend: Backend = {
    ...forward(inner),
    async *list(type, signal): AsyncIterable<FileInfo> {
      calls++;
      let n = 0;
      for await (const info of inner.list(type, signal)) {
        if (n++ === failAfter) throw transient();
        yield info;
      }
    },
  };
  const b = withRetry(backend, { baseDelayMs: 1 });
  await rejectsWith(collect(b.list('lock')), 'IO'); // fails every time before the first item
  assert.equal(calls, 5);
  calls = 0;
  failAfter = 1;
  await rejectsWith(collect(b.list('lock')), 'IO');
  assert.equal(calls, 1);
});

test('cancellation during the backoff ends the wait with CANCELLED', async () => {
  const { backend } = flaky(transient, 100);
  const b = withRetry(backend, { baseDelayMs: 60_000 });
  const ac = new AbortController();
  setTimeout(() => {
    ac.abort();
  }, 20);
  const started = Date.now();
  await rejectsWith(b.load(h, undefined, ac.signal), 'CANCELLED');
  assert.ok(Date.now() - started < 5000);
});

test('rejects a nonsensical attempts option', () => {
  assert.throws(() => withRetry(createMemBackend(), { attempts: 0 }), /at least 1/);
});
