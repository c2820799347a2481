import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { isLifeboatError } from '../../core/errors.js';
import { createTarWatcher } from './tar-watch.js';

let dir = '';
const label = Buffer.from('START WAL LOCATION: 0/2000028 (file 000000010000000000000002)\n');
const manifest = randomBytes(300_000);

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lifeboat-tarwatch-'));
  const src = join(dir, 'src');
  await mkdir(join(src, 'base', 'a'.repeat(90), 'b'.repeat(60)), { recursive: true });
  await writeFile(join(src, 'backup_label'), label);
  await writeFile(join(src, 'base', 'big'), randomBytes(1_000_003));
  await writeFile(
    join(src, 'base', 'a'.repeat(90), 'b'.repeat(60), 'backup_label'),
    'not this one',
  );
  await writeFile(join(src, 'empty'), '');
  await writeFile(join(src, 'backup_manifest'), manifest);
});
after(async () => rm(dir, { recursive: true, force: true }));

function makeTar(format: string, members: string[]): Buffer {
  const r = spawnSync(
    'tar',
    ['-c', `--format=${format}`, '-f', '-', '-C', join(dir, 'src'), ...members],
    { maxBuffer: 64 << 20 },
  );
  assert.equal(r.status, 0, String(r.stderr));
  return r.stdout;
}

function feed(tar: Buffer, piece: () => number): Map<string, Buffer> {
  const w = createTarWatcher([
    { name: 'backup_label', keep: 'head', limit: 1000 },
    { name: 'backup_manifest', keep: 'tail', limit: 70_000 },
  ]);
  for (let i = 0; i < tar.length;) {
    const n = Math.min(piece(), tar.length - i);
    w.push(tar.subarray(i, i + n));
    i += n;
  }
  return w.finish();
}

test('keeps the head of backup_label and the tail of backup_manifest, whatever the chunking', () => {
  for (const format of ['ustar', 'gnu']) {
    const tar = makeTar(format, ['backup_label', 'base', 'empty', 'backup_manifest']);
    for (const piece of [
      () => 1 + Math.floor(Math.random() * 700),
      () => 512,
      () => 65536,
      () => tar.length,
    ]) {
      const got = feed(tar, piece);
      assert.deepEqual(got.get('backup_label'), label);
      assert.deepEqual(got.get('backup_manifest'), manifest.subarray(manifest.length - 70_000));
      assert.equal(got.size, 2);
    }
  }
});

test('a head capture stops at its limit; missing members are absent', () => {
  const tar = makeTar('ustar', ['backup_manifest']);
  const w = createTarWatcher([
    { name: 'backup_manifest', keep: 'head', limit: 10 },
    { name: 'backup_label', keep: 'head', limit: 10 },
  ]);
  w.push(tar);
  const got = w.finish();
  assert.deepEqual(got.get('backup_manifest'), manifest.subarray(0, 10));
  assert.equal(got.has('backup_label'), false);
});

test('a truncated archive or a damaged header is INTEGRITY', () => {
  const tar = makeTar('ustar', ['backup_label', 'base']);
  const cut = createTarWatcher([]);
  cut.push(tar.subarray(0, 600_000));
  assert.throws(
    () => cut.finish(),
    (e: unknown) => isLifeboatError(e, 'INTEGRITY'),
  );
  const damaged = Buffer.from(tar);
  damaged[10] = 0x41; // inside the first member's name: checksum no longer matches
  const w = createTarWatcher([]);
  assert.throws(
    () => w.push(damaged),
    (e: unknown) => isLifeboatError(e, 'INTEGRITY'),
  );
  assert.throws(
    () => createTarWatcher([]).push(randomBytes(4096)),
    (e: unknown) => isLifeboatError(e, 'INTEGRITY'),
  );
});
