import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isLifeboatError } from '../core/errors.js';
import { checkHost, checkIdentifier, checkPort } from './validate.js';

const hostile = [
  '-fx',
  "x' OR 1=1",
  'host=evil dbname=postgres',
  'app\nDROP',
  'a'.repeat(65536),
  '',
  'a b',
  'x"y',
  'x;y',
];

test('identifiers: ordinary names pass, hostile ones are refused by name', () => {
  for (const ok of ['app', 'app_db', 'App-2', '_x', 'a.b', 'postgres']) {
    assert.equal(checkIdentifier('db', ok), ok);
  }
  for (const bad of hostile) {
    assert.throws(
      () => checkIdentifier('services.app.source.databases[0]', bad),
      (e: unknown) =>
        isLifeboatError(e, 'INVALID_ARGUMENT') &&
        e.message.startsWith('services.app.source.databases[0]:') &&
        e.message.length < 400,
    );
  }
});

test('hosts: names, addresses and socket directories pass; hostile ones are refused', () => {
  for (const ok of ['localhost', '127.0.0.1', '::1', 'db-1.example.com', '/var/run/postgresql']) {
    assert.equal(checkHost('host', ok), ok);
  }
  for (const bad of [...hostile, '/tmp/../etc', 'evil-']) {
    assert.throws(
      () => checkHost('host', bad),
      (e: unknown) => isLifeboatError(e, 'INVALID_ARGUMENT'),
    );
  }
  assert.throws(() => checkHost('host', '/tmp', false));
});

test('ports are integers 1..65535', () => {
  assert.equal(checkPort('port', 5432), 5432);
  for (const bad of [0, -1, 65536, 1.5, Number.NaN]) assert.throws(() => checkPort('port', bad));
});
