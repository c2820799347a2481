import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, scryptSync } from 'node:crypto';
import { isLifeboatError } from '../../core/errors.js';
import { DEFAULT_KDF, createKeyFile, openKeyFile, parseKeyFile } from './key-file.js';
import type { KdfParams } from './key-file.js';
import { MasterKey } from './master-key.js';

// Cheap parameters keep the tests fast; the format does not depend on them.
const FAST: KdfParams = { N: 1024, r: 8, p: 1 };
const who = { username: 'alice', hostname: 'box', kdf: FAST };

async function rejectsIntegrity(p: Promise<unknown>): Promise<void> {
  await assert.rejects(p, (err: unknown) => isLifeboatError(err, 'INTEGRITY'));
}

function withField(bytes: Buffer, field: string, value: unknown): Buffer {
  const json = JSON.parse(bytes.toString()) as Record<string, unknown>;
  json[field] = value;
  return Buffer.from(JSON.stringify(json));
}

test('a created key file opens with its password and yields the same master key', async () => {
  const master = MasterKey.generate();
  const { bytes, id } = await createKeyFile('correct horse', master, who);
  assert.equal(id, createHash('sha256').update(bytes).digest('hex'));
  const opened = await openKeyFile(bytes, 'correct horse');
  assert.ok(opened);
  assert.deepEqual(opened.toJSON(), master.toJSON());
});

test('the wrong password yields undefined', async () => {
  const { bytes } = await createKeyFile('right', MasterKey.generate(), who);
  assert.equal(await openKeyFile(bytes, 'wrong'), undefined);
  assert.equal(await openKeyFile(bytes, ''), undefined);
});

test('key file JSON has restic fields in restic order', async () => {
  const now = new Date('2024-05-06T07:08:09.120Z');
  const { bytes } = await createKeyFile('pw', MasterKey.generate(), { ...who, now });
  const text = bytes.toString();
  assert.deepEqual(Object.keys(JSON.parse(text) as object), [
    'created',
    'username',
    'hostname',
    'kdf',
    'N',
    'r',
    'p',
    'salt',
    'data',
  ]);
  const parsed = parseKeyFile(bytes);
  assert.equal(parsed.created, '2024-05-06T07:08:09.12Z');
  assert.equal(parsed.username, 'alice');
  assert.equal(parsed.hostname, 'box');
  assert.equal(parsed.kdf, 'scrypt');
  assert.deepEqual([parsed.N, parsed.r, parsed.p], [FAST.N, FAST.r, FAST.p]);
  assert.equal(Buffer.from(parsed.salt, 'base64').length, 64);
  // IV + MAC around the master-key JSON.
  assert.ok(Buffer.from(parsed.data, 'base64').length > 32 + 60);
});

test('created time has no fraction for whole seconds', async () => {
  const now = new Date('2024-05-06T07:08:09.000Z');
  const { bytes } = await createKeyFile('pw', MasterKey.generate(), { ...who, now });
  assert.equal(parseKeyFile(bytes).created, '2024-05-06T07:08:09Z');
});

test('default KDF parameters match restic', () => {
  assert.deepEqual({ ...DEFAULT_KDF }, { N: 32768, r: 8, p: 1 });
});

test('malformed key files fail with INTEGRITY', async () => {
  const { bytes } = await createKeyFile('pw', MasterKey.generate(), who);
  const cases: Buffer[] = [
    Buffer.from('not json'),
    Buffer.from('[]'),
    Buffer.from('null'),
    withField(bytes, 'kdf', 'argon2'),
    withField(bytes, 'kdf', undefined),
    withField(bytes, 'N', '1024'),
    withField(bytes, 'N', 1.5),
    withField(bytes, 'salt', 'not base64!'),
    withField(bytes, 'salt', Buffer.alloc(32).toString('base64')),
    withField(bytes, 'data', Buffer.alloc(16).toString('base64')),
    withField(bytes, 'username', 7),
  ];
  for (const c of cases) {
    assert.throws(
      () => parseKeyFile(c),
      (err: unknown) => isLifeboatError(err, 'INTEGRITY'),
    );
    await rejectsIntegrity(openKeyFile(c, 'pw'));
  }
});

test('absurd scrypt parameters are refused before running scrypt', async () => {
  const { bytes } = await createKeyFile('pw', MasterKey.generate(), who);
  const hostile: [string, number][] = [
    ['N', 2 ** 30], // 128 GiB of memory with r = 8
    ['N', 1000], // not a power of two
    ['N', 1],
    ['r', 0],
    ['r', 1 << 20],
    ['p', 0],
    ['p', 1 << 20],
  ];
  for (const [field, value] of hostile) {
    await rejectsIntegrity(openKeyFile(withField(bytes, field, value), 'pw'));
  }
  // The bound also protects createKeyFile from a bad option.
  await rejectsIntegrity(
    createKeyFile('pw', MasterKey.generate(), { ...who, kdf: { N: 2 ** 24, r: 8, p: 1 } }),
  );
});

test('data that decrypts to something other than a master key is INTEGRITY', async () => {
  const { bytes } = await createKeyFile('pw', MasterKey.generate(), who);
  const salt = Buffer.from(parseKeyFile(bytes).salt, 'base64');
  const user = MasterKey.fromKdfOutput(scryptSync('pw', salt, 64, FAST));
  for (const plaintext of ['{"mac":{}}', 'not json', '[]']) {
    const data = user.encrypt(Buffer.from(plaintext)).toString('base64');
    await rejectsIntegrity(openKeyFile(withField(bytes, 'data', data), 'pw'));
  }
  // The same construction with the real master key JSON opens: the test above is not vacuous.
  const master = MasterKey.generate();
  const data = user.encrypt(Buffer.from(JSON.stringify(master.toJSON()))).toString('base64');
  const opened = await openKeyFile(withField(bytes, 'data', data), 'pw');
  assert.deepEqual(opened?.toJSON(), master.toJSON());
});
