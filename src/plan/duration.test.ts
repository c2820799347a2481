import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isLifeboatError } from '../core/errors.js';
import { parseDuration, tryParseDuration } from './duration.js';

test('parseDuration converts each unit to milliseconds', () => {
  assert.equal(parseDuration('30s'), 30_000);
  assert.equal(parseDuration('15m'), 900_000);
  assert.equal(parseDuration('4h'), 14_400_000);
  assert.equal(parseDuration('1d'), 86_400_000);
  assert.equal(parseDuration('2w'), 1_209_600_000);
  assert.equal(parseDuration('0s'), 0);
  assert.equal(parseDuration('90m'), 5_400_000);
});

test('parseDuration rejects junk with INVALID_ARGUMENT naming the text', () => {
  const junk = [
    '',
    '15',
    'm',
    '15 m',
    ' 15m',
    '15m ',
    '15M',
    '1.5h',
    '-5m',
    '+5m',
    '015m',
    '1h30m',
    '10ms',
    '5y',
    '1e3s',
    '0x10s',
    '99999999999999999999w',
  ];
  for (const text of junk) {
    assert.equal(tryParseDuration(text), undefined, `tryParseDuration(${JSON.stringify(text)})`);
    assert.throws(
      () => parseDuration(text),
      (err: unknown) =>
        isLifeboatError(err, 'INVALID_ARGUMENT') && err.message.includes(JSON.stringify(text)),
      `parseDuration(${JSON.stringify(text)})`,
    );
  }
});

test('the largest exact duration is accepted and one past it is not', () => {
  // 2^53 - 1 ms is not a whole number of seconds; 9007199254740 s is the largest that fits.
  assert.equal(parseDuration('9007199254740s'), 9_007_199_254_740_000);
  assert.equal(tryParseDuration('9007199254741s'), undefined);
});
