// Interop with the real restic binary: our MasterKey and key files must read and write
// exactly what restic does (RESTIC-FORMAT.md, "Encryption").
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { initResticRepo, restic, resticOk } from '../../../test/support/restic.js';
import { createKeyFile, openKeyFile } from './key-file.js';
import { MasterKey } from './master-key.js';

const PASSWORD = 'interop-secret';

async function onlyFile(dir: string): Promise<Buffer> {
  const names = await readdir(dir);
  assert.equal(names.length, 1, `expected one file in ${dir}, found ${names.length}`);
  return readFile(join(dir, names[0]!));
}

async function resticMasterKey(repo: string): Promise<MasterKey> {
  const { stdout } = await resticOk(['cat', 'masterkey'], { repo, password: PASSWORD });
  return MasterKey.fromJSON(JSON.parse(stdout));
}

test('restic repository: master key, config and key file', async () => {
  await using r = await initResticRepo(PASSWORD);
  const opts = { repo: r.repo, password: PASSWORD };
  const master = await resticMasterKey(r.repo);

  // The config file on disk decrypts to what `restic cat config` shows.
  const configPlain = master.decrypt(await readFile(join(r.repo, 'config')));
  const catConfig = JSON.parse((await resticOk(['cat', 'config'], opts)).stdout) as unknown;
  assert.deepEqual(JSON.parse(configPlain.toString('utf8')), catConfig);

  // Our key file reader opens restic's key file to the same master key.
  const keyFile = await onlyFile(join(r.repo, 'keys'));
  const opened = await openKeyFile(keyFile, PASSWORD);
  assert.ok(opened, 'the password opens restic key file');
  assert.deepEqual(opened.toJSON(), master.toJSON());
  assert.equal(await openKeyFile(keyFile, PASSWORD + 'x'), undefined);

  // A config re-encrypted by us (fresh IV, our MAC) is accepted by restic.
  await writeFile(join(r.repo, 'config'), master.encrypt(configPlain));
  const again = JSON.parse((await resticOk(['cat', 'config'], opts)).stdout) as unknown;
  assert.deepEqual(again, catConfig);
});

test('restic opens the repository with a key file we created', async () => {
  await using r = await initResticRepo(PASSWORD);
  const master = await resticMasterKey(r.repo);
  const other = 'a second password, ünïcödé';
  const { bytes, id } = await createKeyFile(other, master, {
    username: 'lifeboat',
    hostname: 'interop',
    kdf: { N: 4096, r: 8, p: 1 },
  });
  await writeFile(join(r.repo, 'keys', id), bytes);

  const opts = { repo: r.repo, password: other };
  await resticOk(['snapshots'], opts);
  const list = await resticOk(['key', 'list', '--json'], opts);
  const keys = JSON.parse(list.stdout) as { id: string; current: boolean; userName: string }[];
  assert.equal(keys.length, 2);
  const ours = keys.find((k) => k.current);
  assert.ok(ours && id.startsWith(ours.id), 'restic used our key file');
  assert.equal(ours.userName, 'lifeboat');

  const wrong = await restic(['snapshots'], { repo: r.repo, password: 'not it' });
  assert.notEqual(wrong.code, 0);
});

test('restic-written snapshot and index files verify; restic reads ones we encrypt', async () => {
  await using r = await initResticRepo(PASSWORD);
  const opts = { repo: r.repo, password: PASSWORD };
  const src = join(r.dir, 'src');
  await mkdir(src);
  await writeFile(join(src, 'hello.txt'), 'hello, restic\n'.repeat(1000));
  await resticOk(['backup', '--host', 'interop', 'src'], { ...opts, cwd: r.dir });
  const master = await resticMasterKey(r.repo);

  for (const kind of ['snapshots', 'index']) {
    const names = await readdir(join(r.repo, kind));
    assert.equal(names.length, 1, kind);
    const file = await readFile(join(r.repo, kind, names[0]!));
    assert.equal(createHash('sha256').update(file).digest('hex'), names[0]);
    const plain = master.decrypt(file);
    // v2: 0x02 then a zstd frame (magic 28 b5 2f fd).
    assert.equal(plain[0], 0x02, kind);
    assert.deepEqual([...plain.subarray(1, 5)], [0x28, 0xb5, 0x2f, 0xfd], kind);
  }

  // Re-encrypt the snapshot with a fresh IV and store it under its new id: restic lists both.
  const [snapName] = await readdir(join(r.repo, 'snapshots'));
  const snapPlain = master.decrypt(await readFile(join(r.repo, 'snapshots', snapName!)));
  const copy = master.encrypt(snapPlain);
  const copyId = createHash('sha256').update(copy).digest('hex');
  await writeFile(join(r.repo, 'snapshots', copyId), copy);
  const snaps = JSON.parse((await resticOk(['snapshots', '--json'], opts)).stdout) as {
    id: string;
    hostname: string;
  }[];
  assert.deepEqual(snaps.map((s) => s.id).sort(), [snapName!, copyId].sort());
  assert.ok(snaps.every((s) => s.hostname === 'interop'));
});
