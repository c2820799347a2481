import assert from 'node:assert/strict';
import {
  chmod,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rm,
  symlink,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  aheadSpool,
  AHEAD_LIMIT,
  localRepoDir,
  MARK_TTL_MS,
  markSource,
  readyFiles,
  takeMark,
  writeMark,
} from './wal-ahead.js';

const seg = (n: number) => `0000000100000000000000${n.toString(16).toUpperCase().padStart(2, '0')}`;

describe('wal-ahead', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lb-walahead-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('readyFiles: history files first, then by name; not the own file, partials or others', async () => {
    const wal = join(dir, 'pg_wal');
    await mkdir(join(wal, 'archive_status'), { recursive: true });
    const names = [seg(3), seg(1), seg(2), '00000002.history', `${seg(2)}.00000028.backup`];
    for (const n of [...names, `${seg(4)}.partial`, 'junk', seg(5)])
      await writeFile(join(wal, 'archive_status', `${n}${n === seg(5) ? '.done' : '.ready'}`), '');
    const got = await readyFiles(join(wal, seg(1)));
    assert.deepEqual(
      got.map((p) => p.slice(wal.length + 1)),
      ['00000002.history', seg(2), `${seg(2)}.00000028.backup`, seg(3)],
    );
    for (let n = 6; n < 6 + AHEAD_LIMIT + 3; n++)
      await writeFile(join(wal, 'archive_status', `${seg(n)}.ready`), '');
    assert.equal((await readyFiles(join(wal, seg(1)))).length, AHEAD_LIMIT);
    assert.deepEqual(await readyFiles(join(dir, 'elsewhere', seg(1))), []);
  });

  test('a mark answers once, for the same bytes and the same source only', async () => {
    const spool = (await aheadSpool(join(dir, 'pg_wal', seg(1)), 'db', dir))!;
    assert.ok(spool);
    const bytes = Buffer.from('segment bytes');
    const files = join(dir, 'files');
    await mkdir(files, { recursive: true });
    // takeMark reads the WAL file itself: write `data` under `name`, then ask.
    const take = async (source: string, name: string, data: Buffer) => {
      await writeFile(join(files, name), data);
      return (await takeMark(spool, source, join(files, name)))?.snapshotId;
    };
    const repoDir = join(dir, 'repo');
    await mkdir(join(repoDir, 'snapshots'), { recursive: true });
    await writeFile(join(repoDir, 'snapshots', 'abc123'), '');
    const marks = { spool, source: 'repo:/r', repoDir };
    await writeMark(marks, seg(1), bytes, 'abc123');
    assert.equal(await take('repo:/r', seg(1), bytes), 'abc123');
    assert.equal(await take('repo:/r', seg(1), bytes), undefined, 'used once');
    await writeMark(marks, seg(2), bytes, 'abc123');
    assert.equal(await take('repo:/r', seg(2), Buffer.from('other bytes')), undefined);
    assert.equal(await take('repo:/r', seg(2), bytes), undefined, 'a stale mark goes');
    await writeMark(marks, seg(3), bytes, 'abc123');
    assert.equal(await take('repo:/other', seg(3), bytes), undefined);
    assert.equal(await take('repo:/r', 'not-wal', bytes), undefined);
    // A repository that no longer holds the snapshot (restored from an older copy, made anew).
    await writeMark(marks, seg(4), bytes, 'gone');
    assert.equal(await take('repo:/r', seg(4), bytes), undefined);
    // A mark past its time.
    await writeMark(marks, seg(5), bytes, 'abc123');
    const old = JSON.parse(await readFile(join(spool, seg(5)), 'utf8')) as Record<string, unknown>;
    await writeFile(
      join(spool, seg(5)),
      JSON.stringify({ ...old, time: Date.now() - MARK_TTL_MS }),
    );
    assert.equal(await take('repo:/r', seg(5), bytes), undefined);
    assert.deepEqual(await readdir(spool), []);
  });

  test('localRepoDir: local paths only, absolute', () => {
    assert.equal(localRepoDir('/srv/r'), '/srv/r');
    assert.equal(localRepoDir('local:/srv/r'), '/srv/r');
    assert.equal(localRepoDir('rel/r'), join(process.cwd(), 'rel/r'));
    assert.equal(localRepoDir('sftp://host/r'), undefined);
    assert.equal(localRepoDir('mem:x'), undefined);
  });

  test('aheadSpool: one directory per WAL directory and service, private, never a symlink', async () => {
    const base = join(dir, 'spools');
    await mkdir(base);
    const a = await aheadSpool(join(dir, 'x', 'pg_wal', seg(1)), 'db', base);
    const b = await aheadSpool(join(dir, 'y', 'pg_wal', seg(1)), 'db', base);
    const c = await aheadSpool(join(dir, 'x', 'pg_wal', seg(9)), 'db2', base);
    assert.ok(a && b && c);
    assert.equal(new Set([a, b, c]).size, 3);
    assert.equal(await aheadSpool(join(dir, 'x', 'pg_wal', seg(2)), 'db', base), a);
    const root = join(base, `lifeboat-wal-${String(process.getuid!())}`);
    await chmod(root, 0o755);
    assert.equal(await aheadSpool(join(dir, 'x', 'pg_wal', seg(1)), 'db', base), undefined);
    await rm(root, { recursive: true });
    await mkdir(join(dir, 'target'), { mode: 0o700 });
    await symlink(join(dir, 'target'), root);
    assert.equal(await aheadSpool(join(dir, 'x', 'pg_wal', seg(1)), 'db', base), undefined);
  });

  test('markSource: a plan is named with its size and mtime, so an edited plan differs', async () => {
    const plan = join(dir, 'lifeboat.yaml');
    await writeFile(plan, 'version: 1\n');
    const before = await markSource({ plan });
    await utimes(plan, new Date(), new Date(Date.now() + 5000));
    assert.notEqual(await markSource({ plan }), before);
    assert.equal(await markSource({ repo: '/srv/r' }), 'repo:/srv/r');
    assert.equal(await markSource({ plan: join(dir, 'missing.yaml') }), undefined);
  });
});
