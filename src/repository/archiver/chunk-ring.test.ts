import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRing, RingReader, RingWriter } from './chunk-ring.js';

test('records are contiguous, wrap to the next lap, and come back in place', () => {
  const setup = createRing(100);
  const w = new RingWriter(setup);
  const r = new RingReader(setup);
  const noWait = () => assert.fail('must not wait');
  const a = w.reserve(60, noWait);
  w.bytes.fill(1, a, a + 40);
  const endA = w.commit(40); // used less than reserved
  assert.deepEqual([a, endA], [0, 40]);
  const takenA = r.take(a, 40, endA);
  const b = w.reserve(50, noWait);
  w.bytes.fill(2, b, b + 50);
  const endB = w.commit(50);
  assert.deepEqual([b, endB], [40, 90]); // A is still in use: B goes after it
  const takenB = r.take(b, 50, endB);
  assert.ok(takenA.bytes.every((x) => x === 1) && takenB.bytes.every((x) => x === 2));
  // 20 bytes do not fit in the 10 left: the record starts the next lap, over A's bytes,
  // so it waits until A is released (and only A).
  let waits = 0;
  const c = w.reserve(20, () => {
    waits++;
    takenA.release();
  });
  assert.deepEqual([c, waits], [0, 1]);
  assert.equal(w.commit(20), 120);
  assert.equal(w.unreleased, 80); // B and C; the skipped 10 bytes go with C
});

test('released out of order, records free the ring in order', () => {
  const setup = createRing(30);
  const w = new RingWriter(setup);
  const r = new RingReader(setup);
  const taken = [0, 1, 2].map(() => {
    const at = w.reserve(10, () => assert.fail('must not wait'));
    return r.take(at, 10, w.commit(10));
  });
  taken[2]!.release();
  taken[1]!.release();
  assert.equal(w.unreleased, 30);
  taken[0]!.release();
  taken[0]!.release(); // twice is harmless
  assert.equal(w.unreleased, 0);
});

test('an empty ring takes a record that only fits from the start of the next lap', () => {
  const setup = createRing(100);
  const w = new RingWriter(setup);
  const r = new RingReader(setup);
  r.take(
    w.reserve(70, () => undefined),
    70,
    w.commit(70),
  ).release();
  // 90 bytes: 30 left at the end, so the record goes to the start; nothing is in use.
  assert.equal(
    w.reserve(90, () => assert.fail('must not wait')),
    0,
  );
  assert.equal(w.commit(90), 190);
  assert.throws(() => w.reserve(101, () => undefined), /ring/);
});

test('once every record is released, the next one starts at the beginning of the ring', () => {
  const setup = createRing(100);
  const w = new RingWriter(setup);
  const r = new RingReader(setup);
  const noWait = () => assert.fail('must not wait');
  const a = r.take(w.reserve(30, noWait), 30, w.commit(30));
  // A in use: B follows it.
  const atB = w.reserve(20, noWait);
  const b = r.take(atB, 20, w.commit(20));
  assert.equal(atB, 30);
  a.release();
  b.release();
  // Both released: C would fit after B, but starts the next lap at offset 0 instead (the 50
  // bytes skipped are freed with C).
  const atC = w.reserve(40, noWait);
  assert.equal(atC, 0);
  assert.equal(w.commit(40), 140);
  assert.equal(w.unreleased, 90);
  // C in use: D follows it over bytes the restart skipped (never written), so it need not
  // wait for C, though C's release is what frees them in the shared counter.
  const c = r.take(atC, 40, 140);
  const atD = w.reserve(50, noWait);
  assert.equal(atD, 40);
  const d = r.take(atD, 50, w.commit(50));
  // E reaches past the skipped bytes into the lap after the restart (C's bytes): it waits.
  let waits = 0;
  const atE = w.reserve(20, () => {
    waits++;
    c.release();
  });
  assert.deepEqual([atE, waits], [0, 1]);
  d.release();
});
