import assert from 'node:assert/strict';
import { test } from 'node:test';
import { backendContract } from '../contract.js';
import { createMemBackend } from './mem-backend.js';
import { forgetMemBackend, getMemBackend } from './mem-registry.js';

backendContract('mem', () =>
  Promise.resolve({ backend: createMemBackend(), dispose: () => Promise.resolve() }),
);

test('named mem backends are shared through the registry until forgotten', async () => {
  const name = `registry-test-${process.pid}`;
  const id = 'ab'.repeat(32);
  await getMemBackend(name).save({ type: 'snapshot', name: id }, Buffer.from('s'));
  assert.equal(getMemBackend(name).location, `mem:${name}`);
  assert.deepEqual(await getMemBackend(name).stat({ type: 'snapshot', name: id }), {
    name: id,
    size: 1,
  });
  forgetMemBackend(name);
  await assert.rejects(getMemBackend(name).stat({ type: 'snapshot', name: id }));
  forgetMemBackend(name);
});
