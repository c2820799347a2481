import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { isLifeboatError } from '../../core/errors.js';
import { postgresUser } from '../../../test/support/os-user.js';
import { extractTar } from './extract.js';

let root = '';
let tar: Buffer = Buffer.alloc(0);

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'lifeboat-extract-'));
  await chmod(root, 0o711); // the owner must reach the data directory
  const src = join(root, 'src');
  await mkdir(join(src, 'global'), { recursive: true });
  await mkdir(join(src, 'base', '1'), { recursive: true });
  await writeFile(join(src, 'PG_VERSION'), '15\n', { mode: 0o600 });
  await writeFile(join(src, 'global', 'pg_control'), Buffer.alloc(8192, 7), { mode: 0o600 });
  await writeFile(join(src, 'base', '1', '1259'), Buffer.alloc(100_000, 1), { mode: 0o600 });
  tar = tarOf(src, ['PG_VERSION', 'global', 'base']);
});
after(async () => rm(root, { recursive: true, force: true }));

function tarOf(dir: string, members: string[]): Buffer {
  const r = spawnSync(
    'tar',
    ['-c', '-f', '-', '--owner=4242', '--group=4242', '-C', dir, ...members],
    { maxBuffer: 64 << 20 },
  );
  assert.equal(r.status, 0, String(r.stderr));
  return r.stdout;
}

async function* chunks(data: Buffer, failAt?: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < data.length; i += 4096) {
    await Promise.resolve();
    if (failAt !== undefined && i >= failAt) throw new Error('repository read failed');
    yield data.subarray(i, i + 4096);
  }
}

test('extracts into a new directory, 0700 and owned by the owner', async () => {
  const owner = postgresUser();
  const dataDir = join(root, 'new', 'data');
  await mkdir(join(root, 'new'));
  const r = await extractTar(chunks(tar), dataDir, { owner });
  assert.equal(r.emptied, false);
  assert.deepEqual(r.stats, { files: 3, dirs: 3, links: 0, bytes: 3 + 8192 + 100_000 });
  const st = await stat(dataDir);
  assert.equal(st.mode & 0o777, 0o700);
  assert.equal(st.uid, owner.uid);
  const file = await stat(join(dataDir, 'base', '1', '1259'));
  assert.equal(file.uid, owner.uid); // not 4242 from the archive
  assert.equal(file.size, 100_000);
  assert.equal(await readFile(join(dataDir, 'PG_VERSION'), 'utf8'), '15\n');
});

test('refuses a non-empty directory unless forced; force empties it first', async () => {
  const dataDir = join(root, 'full');
  await mkdir(dataDir);
  await writeFile(join(dataDir, 'stray'), 'x');
  await assert.rejects(extractTar(chunks(tar), dataDir), (e: unknown) =>
    isLifeboatError(e, 'TARGET_NOT_EMPTY'),
  );
  assert.deepEqual(await readdir(dataDir), ['stray']);
  assert.equal((await extractTar(chunks(tar), dataDir, { force: true })).emptied, true);
  assert.deepEqual((await readdir(dataDir)).sort(), ['PG_VERSION', 'base', 'global']);
});

test('refuses the directory of a live server even with force', async () => {
  const dataDir = join(root, 'live');
  await mkdir(dataDir);
  await writeFile(join(dataDir, 'postmaster.pid'), `${process.pid}\n${dataDir}\n`);
  await assert.rejects(extractTar(chunks(tar), dataDir, { force: true }), (e: unknown) =>
    isLifeboatError(e, 'TARGET_IN_USE'),
  );
  assert.deepEqual(await readdir(dataDir), ['postmaster.pid']);
  // A stale pid file (no such process) is just content.
  await writeFile(join(dataDir, 'postmaster.pid'), '999999999\n');
  await extractTar(chunks(tar), dataDir, { force: true });
});

test('a failing input or a non-PostgreSQL archive leaves the directory empty', async () => {
  const a = join(root, 'fail-input');
  await assert.rejects(extractTar(chunks(tar, 20_000), a), /repository read failed/);
  assert.deepEqual(await readdir(a), []);
  const b = join(root, 'not-pg');
  await assert.rejects(extractTar(chunks(tarOf(join(root, 'src'), ['base'])), b), (e: unknown) =>
    isLifeboatError(e, 'INTEGRITY'),
  );
  assert.deepEqual(await readdir(b), []);
  const c = join(root, 'garbage');
  await assert.rejects(extractTar(chunks(Buffer.alloc(5000, 3)), c), (e: unknown) =>
    isLifeboatError(e, 'INTEGRITY'),
  );
  assert.deepEqual(await readdir(c), []);
});
