import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  chmod,
  link,
  lstat,
  mkdir,
  mkdtemp,
  rm,
  symlink,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { LifeboatError } from '../../core/errors.js';
import { INVALID_BYTE_MARK } from '../tree/go-string.js';
import { nodeFromPath } from './node-from-stat.js';
import { lookupGroupName, lookupUserName } from './user-names.js';

process.env.TZ = 'UTC';

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'lifeboat-nfs-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const T1 = 1700000000.1234565; // → 2023-11-14T22:13:20.123456Z after libuv's truncation
const T1_TEXT = '2023-11-14T22:13:20.123456Z';

test('a regular file gets size, links, inode, device_id, owner names and Go mode', async () => {
  await withTempDir(async (dir) => {
    const p = join(dir, 'f');
    await writeFile(p, 'hello');
    await link(p, join(dir, 'f2'));
    await chmod(p, 0o4750);
    await utimes(p, 1000, T1);
    const st = await lstat(p, { bigint: true });
    const node = await nodeFromPath(p, 'f');
    const user = await lookupUserName(Number(st.uid));
    const group = await lookupGroupName(Number(st.gid));
    assert.deepEqual(node, {
      name: 'f',
      type: 'file',
      mode: 2 ** 23 + 0o750,
      mtime: T1_TEXT,
      atime: T1_TEXT, // restic stores mtime as atime unless --with-atime
      ctime: node.ctime,
      uid: Number(st.uid),
      gid: Number(st.gid),
      ...(user ? { user } : {}),
      ...(group ? { group } : {}),
      inode: Number(st.ino),
      device_id: Number(st.dev),
      size: 5,
      links: 2,
      content: [],
    });
    assert.match(node.ctime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
    const withAtime = await nodeFromPath(p, 'f', { withAtime: true });
    assert.equal(withAtime.atime, '1970-01-01T00:16:40Z');
  });
});

test('an empty file has no size field but content []', async () => {
  await withTempDir(async (dir) => {
    await writeFile(join(dir, 'e'), '');
    const node = await nodeFromPath(join(dir, 'e'), 'e');
    assert.equal(node.size, undefined);
    assert.deepEqual(node.content, []);
    assert.equal(node.links, 1);
  });
});

test('dirs, symlinks and fifos get only the fields restic sets for them', async () => {
  await withTempDir(async (dir) => {
    await mkdir(join(dir, 'd'), { mode: 0o755 });
    await chmod(join(dir, 'd'), 0o1777);
    const d = await nodeFromPath(join(dir, 'd'), 'd');
    assert.equal(d.type, 'dir');
    assert.equal(d.mode, 2 ** 31 + 2 ** 20 + 0o777);
    assert.equal(d.links, undefined);
    assert.equal(d.size, undefined);
    assert.equal(d.content, null);
    assert.equal(d.subtree, undefined);

    await symlink('../some where', join(dir, 'l'));
    const l = await nodeFromPath(join(dir, 'l'), 'l');
    assert.equal(l.type, 'symlink');
    assert.equal(l.mode, 2 ** 27 + 0o777);
    assert.equal(l.linktarget, '../some where');
    assert.equal(l.links, 1);
    assert.equal(l.size, undefined);

    const r = spawnSync('mkfifo', ['-m', '0640', join(dir, 'p')]);
    assert.equal(r.status, 0, 'mkfifo failed');
    const p = await nodeFromPath(join(dir, 'p'), 'p');
    assert.equal(p.type, 'fifo');
    assert.equal(p.mode, 2 ** 25 + 0o640);
    assert.equal(p.links, undefined);
    assert.equal(p.content, null);
    assert.ok(p.inode !== undefined && p.device_id !== undefined);
  });
});

test('names and link targets that are not UTF-8 are kept the way restic keeps them', async () => {
  await withTempDir(async (dir) => {
    const name = Buffer.from('x\xffy', 'latin1');
    const path = Buffer.concat([Buffer.from(dir + '/'), name]);
    await symlink(Buffer.from('t\xe2\x82A', 'latin1'), path);
    const node = await nodeFromPath(path, name);
    assert.equal(node.name, 'x\ufffdy');
    assert.deepEqual(node.rawName, name);
    assert.equal(node.linktarget, `t${INVALID_BYTE_MARK}${INVALID_BYTE_MARK}A`);
  });
});

test('a vanished entry is NOT_FOUND', async () => {
  await withTempDir(async (dir) => {
    await assert.rejects(
      nodeFromPath(join(dir, 'gone'), 'gone'),
      (e: unknown) =>
        e instanceof LifeboatError && e.code === 'NOT_FOUND' && e.message.includes('gone'),
    );
  });
});
