import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compareTrees, dirUsage, readAll, sameContent } from './fs-utils.js';

test('compareTrees finds changed, missing and extra files, and dirUsage counts them', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bench-fs-'));
  try {
    const src = join(dir, 'src');
    mkdirSync(join(src, 'a/b'), { recursive: true });
    writeFileSync(join(src, 'a/b/big'), Buffer.alloc(9 << 20, 7));
    writeFileSync(join(src, 'a/small'), 'hello');
    writeFileSync(join(src, 'top'), '');
    const u = dirUsage(src);
    assert.equal(u.files, 3);
    assert.equal(u.bytes, (9 << 20) + 5);
    assert.ok(u.diskBytes >= 9 << 20);

    const copy = join(dir, 'copy');
    cpSync(src, copy, { recursive: true });
    assert.deepEqual(compareTrees(src, copy).problems, []);
    assert.equal(compareTrees(src, copy).files, 3);

    // A difference past the first 4 MiB block must still be found.
    const big = Buffer.alloc(9 << 20, 7);
    big[8 << 20] = 8;
    writeFileSync(join(copy, 'a/b/big'), big);
    assert.equal(sameContent(join(src, 'a/b/big'), join(copy, 'a/b/big')), false);
    rmSync(join(copy, 'top'));
    appendFileSync(join(copy, 'extra'), 'x');
    assert.deepEqual(compareTrees(src, copy).problems.sort(), [
      'a/b/big differs from the source',
      'extra is in the copy but not in the source',
      'top is missing from the copy',
    ]);
    assert.deepEqual(compareTrees(src, join(dir, 'nothing')).problems, [
      `nothing was restored at ${join(dir, 'nothing')}`,
    ]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('readAll reads files and trees whole, and skips what is missing', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bench-readall-'));
  try {
    mkdirSync(join(dir, 'a', 'b'), { recursive: true });
    writeFileSync(join(dir, 'a', 'b', 'f'), Buffer.alloc(3 * 1024 * 1024 + 5, 1));
    writeFileSync(join(dir, 'g'), 'x');
    assert.equal(readAll([dir, join(dir, 'g'), join(dir, 'missing')]), 3 * 1024 * 1024 + 7);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
