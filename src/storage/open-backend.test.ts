import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { isLifeboatError } from '../core/errors.js';
import { collect, rejectsWith } from './contract.js';
import { runChild } from './run-child.js';
import { forgetMemBackend } from './mem/mem-registry.js';
import { FAULT_KILL_ENV, openBackend, redactLocation } from './open-backend.js';

const env = {};

test('local locations: local:/path, plain paths, relative paths made absolute', () => {
  assert.equal(openBackend('local:/srv/repo', { env }).location, '/srv/repo');
  assert.equal(openBackend('/srv/repo', { env }).location, '/srv/repo');
  assert.equal(openBackend('repo', { env }).location, resolve('repo'));
  assert.equal(openBackend('local:rel/repo', { env }).location, resolve('rel/repo'));
  // As in restic, a colon does not make a scheme unless restic knows it or it is a URL.
  assert.equal(openBackend('backup:2024', { env }).location, resolve('backup:2024'));
});

test('mem:<name> opens the same store each time', async () => {
  const name = `open-test-${process.pid}`;
  try {
    const id = 'ef'.repeat(32);
    await openBackend(`mem:${name}`, { env }).save({ type: 'key', name: id }, Buffer.from('k'));
    const again = openBackend(`mem:${name}`, { env });
    assert.equal(again.location, `mem:${name}`);
    assert.deepEqual(await collect(again.list('key')), [{ name: id, size: 1 }]);
  } finally {
    forgetMemBackend(name);
  }
});

test('remote schemes are UNSUPPORTED, named, and never leak a password', () => {
  const cases: [string, string][] = [
    ['sftp:user@host:/srv/repo', 'sftp'],
    ['sftp://user:hunter2@host/srv', 'sftp'],
    ['s3:s3.amazonaws.com/bucket', 's3'],
    ['rest:https://user:hunter2@host:8000/', 'rest'],
    ['ftp://host/x', 'ftp'],
  ];
  for (const [location, scheme] of cases) {
    assert.throws(
      () => openBackend(location, { env }),
      (err: unknown) =>
        isLifeboatError(err, 'UNSUPPORTED') &&
        err.details.scheme === scheme &&
        err.message.includes(`"${scheme}:"`) &&
        !err.message.includes('hunter2'),
      location,
    );
  }
});

test('empty locations are INVALID_ARGUMENT', () => {
  for (const location of ['', 'local:', 'mem:']) {
    assert.throws(
      () => openBackend(location, { env }),
      (e: unknown) => isLifeboatError(e, 'INVALID_ARGUMENT'),
    );
  }
  assert.throws(
    () => openBackend('mem:x', { env: { [FAULT_KILL_ENV]: 'three' } }),
    (e: unknown) => isLifeboatError(e, 'INVALID_ARGUMENT'),
  );
});

test('redactLocation strips passwords from URLs only', () => {
  assert.equal(redactLocation('sftp://user:pa:ss@host/p@th'), 'sftp://user:***@host/p@th');
  assert.equal(redactLocation('rest:https://u:p%2Fw@h:8000/r'), 'rest:https://u:***@h:8000/r');
  assert.equal(redactLocation('s3:https://host:9000/bucket'), 's3:https://host:9000/bucket');
  assert.equal(redactLocation('sftp://user@host/x'), 'sftp://user@host/x');
  assert.equal(redactLocation('/home/u:p@x/repo'), '/home/u:p@x/repo');
});

test('the opened backend honours the backend contract through its decorators', async () => {
  const b = openBackend(`mem:contract-${process.pid}`, { env });
  try {
    await rejectsWith(b.load({ type: 'pack', name: '../x' }), 'INVALID_ARGUMENT');
    await rejectsWith(b.load({ type: 'pack', name: '12'.repeat(32) }), 'NOT_FOUND');
  } finally {
    forgetMemBackend(`contract-${process.pid}`);
  }
});

test(`${FAULT_KILL_ENV} makes the opened backend die after k saves`, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'lifeboat-open-'));
  try {
    const url = JSON.stringify(new URL('./open-backend.js', import.meta.url).href);
    const { signal, out } = await runChild(
      `
      import { openBackend } from ${url};
      const b = openBackend('local:' + process.env.REPO);
      await b.create();
      for (let i = 1; i <= 5; i++) {
        await b.save({ type: 'snapshot', name: String(i).repeat(64) }, Buffer.from('s'));
      }
      console.log('survived');
    `,
      { REPO: dir, [FAULT_KILL_ENV]: '2' },
    );
    assert.equal(signal, 'SIGKILL', out);
    const names = (await collect(openBackend(dir, { env }).list('snapshot'))).map((f) => f.name);
    assert.deepEqual(names, ['1'.repeat(64), '2'.repeat(64)]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
