import assert from 'node:assert/strict';
import { lstat, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { LifeboatError } from '../../core/errors.js';
import { parseGoTime } from '../tree/go-time.js';
import type { TreeNode } from '../tree/node.js';
import { applyMetadata, utimesSeconds } from './apply-metadata.js';

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'lifeboat-meta-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const node = (extra: Partial<TreeNode>): TreeNode => ({
  name: 'x',
  type: 'file',
  mode: 0o640,
  mtime: '2023-11-14T22:13:20.123456789Z',
  atime: '2023-11-14T22:13:21.5Z',
  ctime: '2023-11-14T22:13:20Z',
  uid: 1234,
  gid: 5678,
  content: [],
  ...extra,
});

function nanos(text: string): bigint {
  const { sec, nsec } = parseGoTime(text);
  return sec * 1_000_000_000n + nsec;
}

test('applyMetadata restores mode and times on a file, to the microsecond', async () => {
  await withTempDir(async (dir) => {
    const p = join(dir, 'f');
    await writeFile(p, 'x');
    await applyMetadata(p, node({ mode: 2 ** 23 + 0o750 }), { owner: false });
    const st = await lstat(p, { bigint: true });
    assert.equal(Number(st.mode) & 0o7777, 0o4750);
    // The measured precision: the stored time truncated to whole microseconds.
    assert.equal(st.mtimeNs, 1700000000123456000n);
    assert.equal(st.atimeNs, 1700000001500000000n);
  });
});

test('times land on the truncated microsecond across many values, including before 1970', async () => {
  await withTempDir(async (dir) => {
    const p = join(dir, 'f');
    await writeFile(p, 'x');
    const samples = [
      '2023-11-14T22:13:20.000000999Z',
      '2023-11-14T22:13:20.999999999Z',
      '2038-01-19T03:14:08.000001Z',
      '2200-06-01T00:00:00.987654321Z',
      '1969-12-31T23:59:59.999999999Z',
      '1960-05-05T05:05:05.000001001Z',
      '1970-01-01T00:00:00Z',
    ];
    for (let i = 0; i < 200; i++) {
      const ns = BigInt(Math.floor(Math.random() * 1e9));
      samples.push(`2024-01-01T00:00:00.${String(ns).padStart(9, '0')}Z`);
    }
    for (const t of samples) {
      await applyMetadata(p, node({ mtime: t, atime: t }), { owner: false });
      const st = await lstat(p, { bigint: true });
      const want = nanos(t) - (((nanos(t) % 1000n) + 1000n) % 1000n);
      assert.equal(st.mtimeNs, want, t);
      assert.equal(st.atimeNs, want, t);
    }
  });
});

test('utimesSeconds aims inside the target microsecond', () => {
  assert.equal(utimesSeconds(5n, 0n), 5);
  assert.equal(utimesSeconds(5n, 999n), 5);
  assert.ok(Math.abs(utimesSeconds(1700000000n, 123456789n) - 1700000000.1234565) < 1e-6);
  // Negative: half a microsecond short, because libuv truncates toward zero.
  assert.ok(Math.abs(utimesSeconds(-2n, 500000000n) - -1.5000005) < 1e-9);
});

test('symlinks get their own times and no chmod; directories too', async () => {
  await withTempDir(async (dir) => {
    await writeFile(join(dir, 'target'), 'x');
    const before = await lstat(join(dir, 'target'), { bigint: true });
    await symlink('target', join(dir, 'l'));
    await applyMetadata(
      join(dir, 'l'),
      node({ type: 'symlink', mode: 2 ** 27 + 0o777, content: null }),
      {
        owner: false,
      },
    );
    const l = await lstat(join(dir, 'l'), { bigint: true });
    assert.equal(l.mtimeNs, 1700000000123456000n);
    const t = await lstat(join(dir, 'target'), { bigint: true });
    assert.equal(t.mtimeNs, before.mtimeNs, 'the link target must not be touched');
    assert.equal(t.mode, before.mode);

    await mkdir(join(dir, 'd'));
    await applyMetadata(join(dir, 'd'), node({ type: 'dir', mode: 2 ** 31 + 2 ** 20 + 0o755 }), {
      owner: false,
    });
    const d = await lstat(join(dir, 'd'));
    assert.equal(d.mode & 0o7777, 0o1755);
  });
});

test(
  'owner is restored with lchown when running as root',
  { skip: process.getuid?.() !== 0 && 'needs root' },
  async () => {
    await withTempDir(async (dir) => {
      const p = join(dir, 'f');
      await writeFile(p, 'x');
      await applyMetadata(p, node({ mode: 2 ** 23 + 0o755 }), { owner: true });
      const st = await lstat(p);
      assert.equal(st.uid, 1234);
      assert.equal(st.gid, 5678);
      // chmod ran after chown, so setuid survived chown's clearing of it.
      assert.equal(st.mode & 0o7777, 0o4755);
      await writeFile(join(dir, 'g'), 'x');
      await applyMetadata(join(dir, 'g'), node({}), { owner: false });
      assert.equal((await lstat(join(dir, 'g'))).uid, 0);
    });
  },
);

test('a failure is reported as IO after the remaining steps ran', async () => {
  await withTempDir(async (dir) => {
    await assert.rejects(
      applyMetadata(join(dir, 'missing'), node({}), { owner: false }),
      (e: unknown) => e instanceof LifeboatError && e.code === 'IO' && e.message.includes('chmod'),
    );
  });
});
