import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { pacer } from './wal-fetch.js';

const names = ['a', 'b', 'c', 'd', 'e', 'f'];

/** Resolves true if p settles within ms. */
async function within(p: Promise<void>, ms: number): Promise<boolean> {
  return Promise.race([p.then(() => true), sleep(ms).then(() => false)]);
}

test('the WAL fetch stays `limit` files ahead of the last request', async () => {
  let requested: string | undefined;
  const mayStart = pacer(names, {
    limit: 2,
    requested: () => Promise.resolve(requested),
    stallMs: 60_000,
  });
  // Before any request: the first two.
  for (const i of [0, 1]) assert.ok(await within(mayStart(i), 100), `file ${String(i)}`);
  const third = mayStart(2);
  assert.equal(await within(third, 150), false, 'waits before any request');
  requested = 'b';
  assert.ok(await within(third, 500));
  assert.ok(await within(mayStart(3), 100));
  assert.equal(await within(mayStart(4), 150), false);
  // Names the fetch does not know (a half-written file, a probe) change nothing.
  requested = 'zz';
  assert.equal(await within(mayStart(4), 150), false);
  requested = 'e';
  assert.ok(await within(mayStart(5), 500));
});

test('without new requests for stallMs, pacing gives way; an abort ends a wait', async () => {
  const mayStart = pacer(names, {
    limit: 0,
    requested: () => Promise.resolve(undefined),
    stallMs: 200,
  });
  const started = Date.now();
  await mayStart(5);
  assert.ok(Date.now() - started >= 190);
  assert.ok(await within(mayStart(4), 50), 'once given way, no more waiting');

  const ac = new AbortController();
  const waiting = pacer(
    names,
    { limit: 0, requested: () => Promise.resolve(undefined) },
    ac.signal,
  )(3);
  ac.abort();
  await assert.rejects(waiting, { name: 'AbortError' });
});
