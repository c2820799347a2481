import { test } from 'node:test';
import assert from 'node:assert/strict';
import { collectYoungGeneration, GcPacer } from './gc-pacer.js';

test('the pacer collects once per `every` bytes counted', () => {
  let runs = 0;
  const p = new GcPacer(100, () => runs++);
  for (let i = 0; i < 10; i++) p.count(30); // 300 bytes
  assert.equal(runs, 2);
});

test('a young-generation collection runs on this thread without --expose-gc', () => {
  assert.equal(typeof (globalThis as { gc?: unknown }).gc, 'undefined');
  collectYoungGeneration();
  collectYoungGeneration();
});
