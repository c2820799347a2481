import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { collect, rejectsWith } from '../contract.js';
import { createLocalBackend } from '../local/local-backend.js';
import { createMemBackend } from '../mem/mem-backend.js';
import { runChild } from '../run-child.js';
import { withFaults } from './faults.js';

const handle = (i: number) => ({ type: 'pack' as const, name: i.toString(16).padStart(64, 'a') });

test('failAfterSaves lets k saves through and fails every later one without storing it', async () => {
  const inner = createMemBackend();
  const b = withFaults(inner, { failAfterSaves: 2 });
  await b.save(handle(1), Buffer.from('1'));
  await b.save(handle(2), Buffer.from('2'));
  await rejectsWith(b.save(handle(3), Buffer.from('3')), 'IO');
  await rejectsWith(b.save(handle(4), Buffer.from('4')), 'IO');
  assert.deepEqual((await collect(inner.list('pack'))).map((f) => f.name).sort(), [
    handle(1).name,
    handle(2).name,
  ]);
  assert.deepEqual(await b.load(handle(2)), Buffer.from('2')); // reads are untouched
  await rejectsWith(
    withFaults(inner, { failAfterSaves: 0 }).save(handle(5), Buffer.from('5')),
    'IO',
  );
});

test('rejects nonsensical counts', () => {
  assert.throws(() => withFaults(createMemBackend(), { killAfterSaves: 0 }), /killAfterSaves/);
  assert.throws(() => withFaults(createMemBackend(), { failAfterSaves: -1 }), /failAfterSaves/);
});

test('killAfterSaves SIGKILLs the process right after the k-th save', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'lifeboat-faults-'));
  try {
    const url = (p: string) => JSON.stringify(new URL(p, import.meta.url).href);
    const { code, signal, out } = await runChild(
      `
      import { withFaults } from ${url('./faults.js')};
      import { createLocalBackend } from ${url('../local/local-backend.js')};
      const b = withFaults(createLocalBackend(process.env.REPO), { killAfterSaves: 3 });
      await b.create();
      for (let i = 1; i <= 6; i++) {
        await b.save({ type: 'pack', name: i.toString(16).padStart(64, 'a') }, Buffer.from('x'));
        console.log('saved', i);
      }
      console.log('survived');
    `,
      { REPO: dir },
    );
    assert.equal(signal, 'SIGKILL', `exit code ${code}: ${out}`);
    assert.equal(out, 'saved 1\nsaved 2\n');
    const files = await collect(createLocalBackend(dir).list('pack'));
    assert.deepEqual(
      files.map((f) => f.name),
      [1, 2, 3].map((i) => handle(i).name),
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
