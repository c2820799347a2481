import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { RandomBytes, Rng } from './prng.js';

const take = (rng: Rng, n: number) => Array.from({ length: n }, () => rng.u32());

test('Rng repeats for the same seed and label and differs otherwise', () => {
  assert.deepEqual(take(new Rng('s', 'a'), 20), take(new Rng('s', 'a'), 20));
  assert.notDeepEqual(take(new Rng('s', 'a'), 20), take(new Rng('s', 'b'), 20));
  assert.notDeepEqual(take(new Rng('s', 'a'), 20), take(new Rng('t', 'a'), 20));
});

test('Rng.int and Rng.logInt stay in range and reach both ends of it', () => {
  const rng = new Rng('s', 'range');
  const ints = Array.from({ length: 5000 }, () => rng.int(3, 7));
  assert.deepEqual([...new Set(ints)].sort(), [3, 4, 5, 6]);
  const logs = Array.from({ length: 5000 }, () => rng.logInt(1024, 65537));
  assert.ok(logs.every((v) => Number.isInteger(v) && v >= 1024 && v < 65537));
  // Log-uniform: about half the values fall below the geometric mean (8 KiB).
  const below = logs.filter((v) => v < 8192).length / logs.length;
  assert.ok(below > 0.4 && below < 0.6, `share below 8 KiB: ${below}`);
});

test('RandomBytes is deterministic, split-invariant and incompressible', () => {
  const whole = new RandomBytes('s', 'x').next(10 << 20);
  const parts = new RandomBytes('s', 'x');
  const joined = Buffer.concat([parts.next(1000), parts.next((10 << 20) - 1000)]);
  assert.ok(whole.equals(joined));
  assert.ok(!whole.subarray(0, 4096).equals(new RandomBytes('s', 'y').next(4096)));
  const sample = whole.subarray(0, 1 << 20);
  assert.ok(gzipSync(sample).length > sample.length * 0.99);
});
