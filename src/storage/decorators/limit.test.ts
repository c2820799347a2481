import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { LifeboatError } from '../../core/errors.js';
import type { Backend } from '../backend.js';
import { rejectsWith } from '../contract.js';
import { createMemBackend } from '../mem/mem-backend.js';
import { forward } from './forward.js';
import { withConcurrencyLimit } from './limit.js';

function observed() {
  const inner = createMemBackend();
  const seen = { now: 0, max: 0, calls: 0 };
  const track = async <T>(fn: () => Promise<T>): Promise<T> => {
    seen.calls++;
    seen.max = Math.max(seen.max, ++seen.now);
    try {
      await delay(5);
      if (seen.calls % 7 === 0) throw new LifeboatError('IO', 'simulated');
      return await fn();
    } finally {
      seen.now--;
    }
  };
  const backend: Backend = {
    ...forward(inner),
    save: (h, d, o) => track(() => inner.save(h, d, o)),
    load: (h, r, s) => track(() => inner.load(h, r, s)),
    stat: (h) => track(() => inner.stat(h)),
    remove: (h) => track(() => inner.remove(h)),
  };
  return { backend, seen };
}

test('no more than max operations are in flight, and max are used', async () => {
  const { backend, seen } = observed();
  const b = withConcurrencyLimit(backend, 3);
  const ops = Array.from({ length: 40 }, (_, i) => {
    const h = { type: 'pack' as const, name: i.toString(16).padStart(64, '0') };
    const op = [
      () => b.save(h, Buffer.from('x')),
      () => b.load(h),
      () => b.stat(h),
      () => b.remove(h),
    ][i % 4]!;
    return op();
  });
  const results = await Promise.allSettled(ops);
  assert.equal(seen.calls, 40); // failures released their slots
  assert.ok(results.some((r) => r.status === 'rejected'));
  assert.equal(seen.max, 3);
});

test('a limit of 1 serialises', async () => {
  const { backend, seen } = observed();
  const b = withConcurrencyLimit(backend, 1);
  const h = { type: 'index' as const, name: 'cd'.repeat(32) };
  await Promise.allSettled([b.save(h, Buffer.from('a')), b.stat(h), b.load(h), b.stat(h)]);
  assert.equal(seen.max, 1);
});

test('rejects a limit below 1', async () => {
  assert.throws(() => withConcurrencyLimit(createMemBackend(), 0), LifeboatError);
  await rejectsWith(
    Promise.resolve().then(() => withConcurrencyLimit(createMemBackend(), 1.5)),
    'INVALID_ARGUMENT',
  );
});
