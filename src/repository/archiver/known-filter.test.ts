import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { KnownFilter } from './known-filter.js';

const id = (i: number) => createHash('sha256').update(String(i)).digest('hex');

test('KnownFilter: every added id is maybe-known, most others are not, views share bits', () => {
  const filter = KnownFilter.create(10_000);
  const view = KnownFilter.attach(filter.buffer);
  for (let i = 0; i < 10_000; i++) filter.add(id(i));
  for (let i = 0; i < 10_000; i++) assert.ok(view.mayHave(id(i)), `id ${String(i)}`);
  let falsePositives = 0;
  for (let i = 10_000; i < 20_000; i++) if (view.mayHave(id(i))) falsePositives++;
  // 16 bits per id: about 6% expected; a broken hash would show far more.
  assert.ok(falsePositives < 1000, `${String(falsePositives)} false positives`);
});

test('KnownFilter grows with the expected count, within bounds', () => {
  assert.equal(KnownFilter.create(0).buffer.byteLength, (1 << 20) / 8);
  assert.equal(KnownFilter.create(1_000_000).buffer.byteLength, (1 << 24) / 8);
  assert.equal(KnownFilter.create(1e12).buffer.byteLength, (1 << 28) / 8);
});
