import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as tick, setTimeout as sleep } from 'node:timers/promises';
import { mapLimit, prime, Semaphore } from './concurrency.js';

function tracked(items: number[], failAt?: number) {
  const log: string[] = [];
  async function* gen() {
    await Promise.resolve();
    log.push('start');
    try {
      for (const [i, v] of items.entries()) {
        if (i === failAt) throw new Error(`failed at ${String(i)}`);
        yield v;
      }
    } finally {
      log.push('end');
    }
  }
  return { log, source: gen() };
}

test('prime starts the source before anyone reads, then yields everything in order', async () => {
  const { log, source } = tracked([1, 2, 3]);
  const p = prime(source);
  await tick();
  assert.deepEqual(log, ['start']);
  const seen: number[] = [];
  for await (const v of p) seen.push(v);
  assert.deepEqual(seen, [1, 2, 3]);
  assert.deepEqual(log, ['start', 'end']);
  await p.close();
});

test('close ends a primed source that was never read', async () => {
  const { log, source } = tracked([1, 2]);
  const p = prime(source);
  await p.close();
  assert.deepEqual(log, ['start', 'end']);
});

test('a first-step failure is reported to the reader, not as an unhandled rejection', async () => {
  const { source } = tracked([1], 0);
  const p = prime(source);
  await tick();
  const seen: number[] = [];
  await assert.rejects(async () => {
    for await (const v of p) seen.push(v);
  }, /failed at 0/);
  assert.deepEqual(seen, []);
  await p.close();
});

test('breaking out of the loop ends the source', async () => {
  const { log, source } = tracked([1, 2, 3]);
  const p = prime(source);
  for await (const v of p) if (v === 1) break;
  assert.deepEqual(log, ['start', 'end']);
});

test('Semaphore serves thousands of waiters in order and counts slots right', async () => {
  const sem = new Semaphore(2);
  const order: number[] = [];
  let running = 0;
  let peak = 0;
  await Promise.all(
    Array.from({ length: 5000 }, async (_, i) => {
      await sem.acquire();
      running++;
      peak = Math.max(peak, running);
      order.push(i);
      if (i % 7 === 0) await tick();
      running--;
      sem.release();
    }),
  );
  assert.equal(peak, 2);
  assert.deepEqual(
    order,
    Array.from({ length: 5000 }, (_, i) => i),
  );
  // All slots are free again: two acquire at once, the third waits.
  await sem.acquire();
  await sem.acquire();
  let third = false;
  void sem.acquire().then(() => (third = true));
  await tick();
  assert.equal(third, false);
  sem.release();
  await tick();
  assert.equal(third, true);
});

test('mapLimit throws the first failure only once the items already running have ended', async () => {
  const ended: number[] = [];
  const started: number[] = [];
  await assert.rejects(
    mapLimit([0, 1, 2, 3, 4, 5], 3, async (i) => {
      started.push(i);
      if (i === 1) throw new Error('first');
      if (i === 2) {
        await sleep(30);
        ended.push(i);
        throw new Error('second, later');
      }
      await sleep(60);
      ended.push(i);
    }),
    /first/,
  );
  // 0 and 2 were running when 1 failed: both ended before the rejection; nothing new started.
  assert.deepEqual(ended.sort(), [0, 2]);
  assert.deepEqual(started.sort(), [0, 1, 2]);
});
