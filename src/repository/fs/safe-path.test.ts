import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { LifeboatError } from '../../core/errors.js';
import { assertNoSymlinkInPath, safeJoin } from './safe-path.js';

const unsafePath = (e: unknown): boolean => e instanceof LifeboatError && e.code === 'UNSAFE_PATH';

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'lifeboat-safe-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('safeJoin joins ordinary names under the target', () => {
  assert.equal(
    safeJoin('/restore', ['a b', '<&>', 'ünï', '...', '.hidden']),
    '/restore/a b/<&>/ünï/.../.hidden',
  );
  assert.equal(safeJoin('/restore', []), '/restore');
});

test('safeJoin refuses names that could leave the target', () => {
  for (const bad of ['..', '.', '', 'a/b', '/etc', '../x', 'a\0b', '/']) {
    assert.throws(() => safeJoin('/restore', ['ok', bad]), unsafePath, JSON.stringify(bad));
  }
});

test('assertNoSymlinkInPath passes for real dirs and not-yet-existing paths', async () => {
  await withTempDir(async (dir) => {
    const target = join(dir, 'target');
    await mkdir(join(target, 'a', 'b'), { recursive: true });
    await writeFile(join(target, 'a', 'b', 'f'), 'x');
    await assertNoSymlinkInPath(target, join(target, 'a', 'b', 'f'));
    await assertNoSymlinkInPath(target, join(target, 'a', 'new', 'deeper', 'file'));
    await assertNoSymlinkInPath(target, target);
  });
});

test('assertNoSymlinkInPath catches a planted symlink pointing outside the target', async () => {
  await withTempDir(async (dir) => {
    const target = join(dir, 'target');
    const outside = join(dir, 'outside');
    await mkdir(join(target, 'a'), { recursive: true });
    await mkdir(outside);
    // A hostile snapshot restores `a/evil -> ../../outside`, then `a/evil/passwd`.
    await symlink(outside, join(target, 'a', 'evil'));
    await assert.rejects(
      assertNoSymlinkInPath(target, join(target, 'a', 'evil', 'passwd')),
      unsafePath,
    );
    // The symlink itself as the leaf: refused by default, allowed when asked.
    await assert.rejects(assertNoSymlinkInPath(target, join(target, 'a', 'evil')), unsafePath);
    await assertNoSymlinkInPath(target, join(target, 'a', 'evil'), { includeLeaf: false });
  });
});

test('assertNoSymlinkInPath refuses paths outside the target', async () => {
  await assert.rejects(assertNoSymlinkInPath('/restore/t', '/restore/other/x'), unsafePath);
  await assert.rejects(assertNoSymlinkInPath('/restore/t', '/restore/t/../x'), unsafePath);
});
