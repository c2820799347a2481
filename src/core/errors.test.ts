import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EXIT_CODES, LifeboatError, isLifeboatError, toLifeboatError } from './errors.js';

test('exit codes follow restic for the documented cases', () => {
  assert.equal(EXIT_CODES.NO_REPOSITORY, 10);
  assert.equal(EXIT_CODES.LOCKED, 11);
  assert.equal(EXIT_CODES.WRONG_PASSWORD, 12);
  assert.equal(EXIT_CODES.PARTIAL, 3);
  assert.equal(EXIT_CODES.CANCELLED, 130);
});

test('toLifeboatError keeps LifeboatErrors and wraps the rest', () => {
  const e = new LifeboatError('LOCKED', 'held');
  assert.equal(toLifeboatError(e), e);
  const wrapped = toLifeboatError(new Error('boom'));
  assert.ok(isLifeboatError(wrapped, 'INTERNAL'));
  assert.equal(wrapped.message, 'boom');
});
