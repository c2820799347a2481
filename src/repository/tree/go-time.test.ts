import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { LifeboatError } from '../../core/errors.js';
import { formatGoTime, parseGoTime, splitNanoseconds } from './go-time.js';

// Node re-reads TZ when it is assigned; this file's process is its own.
function withTz(tz: string, fn: () => void): void {
  const saved = process.env.TZ;
  process.env.TZ = tz;
  try {
    fn();
  } finally {
    if (saved === undefined) delete process.env.TZ;
    else process.env.TZ = saved;
  }
}

test('formatGoTime in UTC writes RFC3339Nano like Go', () => {
  withTz('UTC', () => {
    assert.equal(formatGoTime(0n, 0n), '1970-01-01T00:00:00Z');
    assert.equal(formatGoTime(1700000000n, 123456789n), '2023-11-14T22:13:20.123456789Z');
    assert.equal(formatGoTime(1700000000n, 120000000n), '2023-11-14T22:13:20.12Z');
    assert.equal(formatGoTime(1700000000n, 1n), '2023-11-14T22:13:20.000000001Z');
    assert.equal(formatGoTime(-1n, 500000000n), '1969-12-31T23:59:59.5Z');
    assert.equal(formatGoTime(0n, -1n), '1969-12-31T23:59:59.999999999Z');
    assert.equal(formatGoTime(951782400n, 0n), '2000-02-29T00:00:00Z');
    assert.equal(formatGoTime(-62135596800n, 0n), '0001-01-01T00:00:00Z');
    assert.equal(formatGoTime(253402300799n, 0n), '9999-12-31T23:59:59Z');
  });
});

test('formatGoTime moves years outside 0..9999 like restic FixTime', () => {
  withTz('UTC', () => {
    // 10000-03-01 → year 9999; 12000-02-29 → 9999-02-29 does not exist → 9999-03-01.
    assert.equal(formatGoTime(253402300800n + 59n * 86400n, 0n), '9999-03-01T00:00:00Z');
    const feb29Of12000 = parseGoTime('2000-02-29T12:00:00Z').sec + 3652425n * 86400n;
    assert.equal(formatGoTime(feb29Of12000, 0n), '9999-03-01T12:00:00Z');
    // -0001-01-01 (a common year) → 0000-01-01.
    const year0 = parseGoTime('0000-01-01T00:00:00Z').sec;
    assert.equal(year0, -62167219200n);
    assert.equal(formatGoTime(year0 - 365n * 86400n, 7n), '0000-01-01T00:00:00.000000007Z');
  });
});

test(
  'formatGoTime uses the local zone offset as ±hh:mm',
  { skip: !existsSync('/usr/share/zoneinfo') && 'no zoneinfo' },
  () => {
    withTz('America/St_Johns', () => {
      assert.equal(formatGoTime(1700000000n, 5n), '2023-11-14T18:43:20.000000005-03:30');
      assert.equal(formatGoTime(1690000000n, 0n), '2023-07-22T01:56:40-02:30');
    });
    withTz('Asia/Kolkata', () => {
      assert.equal(formatGoTime(0n, 0n), '1970-01-01T05:30:00+05:30');
    });
  },
);

test('parseGoTime inverts formatGoTime and accepts offsets', () => {
  withTz('UTC', () => {
    for (const [s, ns] of [
      [0n, 0n],
      [1700000000n, 123456789n],
      [-1n, 500000000n],
      [-62135596800n, 0n],
    ] as const) {
      assert.deepEqual(parseGoTime(formatGoTime(s, ns)), { sec: s, nsec: ns });
    }
  });
  assert.deepEqual(parseGoTime('2023-11-14T18:43:20.5-03:30'), {
    sec: 1700000000n,
    nsec: 500000000n,
  });
  assert.deepEqual(parseGoTime('1970-01-01T05:30:00+05:30'), { sec: 0n, nsec: 0n });
  assert.deepEqual(parseGoTime('1970-01-01T00:00:00.1234567891Z'), { sec: 0n, nsec: 123456789n });
});

test('parseGoTime rejects malformed timestamps with INTEGRITY', () => {
  for (const bad of [
    '',
    '2023-11-14 22:13:20Z',
    '2023-11-14T22:13:20',
    '2023-13-01T00:00:00Z',
    '2023-02-29T00:00:00Z',
    '2023-01-01T24:00:00Z',
    '2023-01-01T00:00:60Z',
    '2023-01-01T00:00:00.Z',
    '2023-01-01T00:00:00+5:30',
  ]) {
    assert.throws(
      () => parseGoTime(bad),
      (e: unknown) => e instanceof LifeboatError && e.code === 'INTEGRITY',
      bad,
    );
  }
});

test('splitNanoseconds floors toward negative infinity', () => {
  assert.deepEqual(splitNanoseconds(1_500_000_000n), { sec: 1n, nsec: 500_000_000n });
  assert.deepEqual(splitNanoseconds(-1n), { sec: -1n, nsec: 999_999_999n });
});
