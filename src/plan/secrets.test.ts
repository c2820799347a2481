import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isLifeboatError } from '../core/errors.js';
import { resolveSecret } from './secrets.js';

test('an env reference reads the variable from the given environment', async () => {
  assert.equal(await resolveSecret({ env: 'PW' }, { PW: 'correct horse\n' }), 'correct horse\n');
});

test('a missing or empty variable is NO_PASSWORD naming it, never the value', async () => {
  await assert.rejects(resolveSecret({ env: 'LIFEBOAT_PW' }, {}), (err: unknown) => {
    return isLifeboatError(err, 'NO_PASSWORD') && /LIFEBOAT_PW is not set/.test(err.message);
  });
  await assert.rejects(
    resolveSecret({ env: 'LIFEBOAT_PW' }, { LIFEBOAT_PW: '' }),
    (err: unknown) => {
      return isLifeboatError(err, 'NO_PASSWORD') && /LIFEBOAT_PW is empty/.test(err.message);
    },
  );
});

test('a file reference is trimmed like restic --password-file trims it', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'lifeboat-secret-'));
  try {
    const file = join(dir, 'pass');
    const cases: [string, string][] = [
      ['s3cret\n', 's3cret'],
      ['s3cret\r\n', 's3cret'],
      ['s3cret\n\n', 's3cret'],
      ['s3cret', 's3cret'],
      [' spaced \n', 'spaced'],
      ['in ner\t\n', 'in ner'],
    ];
    for (const [content, expected] of cases) {
      await writeFile(file, content);
      assert.equal(await resolveSecret({ file }), expected, JSON.stringify(content));
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a missing, empty or unreadable password file is NO_PASSWORD naming the path', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'lifeboat-secret-'));
  try {
    const missing = join(dir, 'absent');
    await assert.rejects(resolveSecret({ file: missing }), (err: unknown) => {
      return (
        isLifeboatError(err, 'NO_PASSWORD') &&
        err.message === `password file ${missing} does not exist` &&
        err.details['file'] === missing
      );
    });
    const empty = join(dir, 'empty');
    await writeFile(empty, '\n');
    await assert.rejects(resolveSecret({ file: empty }), (err: unknown) => {
      return isLifeboatError(err, 'NO_PASSWORD') && err.message.includes(`${empty} is empty`);
    });
    await assert.rejects(resolveSecret({ file: dir }), (err: unknown) => {
      return isLifeboatError(err, 'NO_PASSWORD') && err.message.includes('EISDIR');
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
