/**
 * Issue 3, `lifeboat wal push` as PostgreSQL's archive_command sees it, through the CLI: the
 * same file twice succeeds both times (a retry after a crash), the same name with different
 * bytes fails (two clusters archiving into one service), a missing file fails, and concurrent
 * pushes of different segments all land in the catalog without damaging the repository.
 */
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pseudoRandom } from '../support/cli.js';
import { dbCliRepo, type DbCliRepo } from './db-cli-fixture.js';

const segment = (n: number) => `00000001000000000000000${n.toString(16).toUpperCase()}`;

describe('lifeboat wal push through the CLI', { timeout: 120_000 }, () => {
  let r: DbCliRepo;
  let wal: string;

  before(async () => {
    r = await dbCliRepo('lb-dbcli-walpush-');
    // wal push never connects: a port nobody listens on is fine.
    await r.writePlan({ db: { mode: 'physical', port: 9 } });
    wal = join(r.dir, 'pg_wal');
    await mkdir(join(wal, 'other'), { recursive: true });
    for (let n = 1; n <= 5; n++) {
      await writeFile(join(wal, segment(n)), pseudoRandom(256 * 1024, `segment ${String(n)}`));
    }
    await writeFile(join(wal, 'other', segment(1)), pseudoRandom(256 * 1024, 'another cluster'));
  });
  after(() => r?.[Symbol.asyncDispose]());

  const walFilesInRepo = async () =>
    (await r.snapshots())
      .filter((s) => s.tags?.includes('kind=wal') && s.tags.includes('service=db'))
      .map((s) => s.paths.join(','))
      .sort();

  test('the same file twice: exit 0 both times, stored once', async () => {
    const first = await r.run(['wal', 'push', 'db', join(wal, segment(1))]);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, new RegExp(`stored ${segment(1)}`));
    const again = await r.run(['wal', 'push', 'db', join(wal, segment(1))]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /already archived with the same content/);
    assert.deepEqual(await walFilesInRepo(), [`/${segment(1)}`]);
  });

  test('the same name with different bytes: non-zero exit, the archived copy kept', async () => {
    const res = await r.run(['wal', 'push', 'db', join(wal, 'other', segment(1))]);
    assert.notEqual(res.code, 0, res.stdout);
    assert.match(
      res.stderr,
      new RegExp(`${segment(1)} is already archived .* with different content`),
    );
    assert.deepEqual(await walFilesInRepo(), [`/${segment(1)}`]);
  });

  test('a missing file: non-zero exit naming it', async () => {
    const missing = join(wal, segment(0xf));
    const res = await r.run(['wal', 'push', 'db', missing]);
    assert.notEqual(res.code, 0, res.stdout);
    assert.ok(res.stderr.includes(missing), res.stderr);
    assert.deepEqual(await walFilesInRepo(), [`/${segment(1)}`]);
  });

  test('4 concurrent pushes of different segments: all exit 0, all in the catalog', async () => {
    const names = [2, 3, 4, 5].map(segment);
    const results = await Promise.all(names.map((n) => r.run(['wal', 'push', 'db', join(wal, n)])));
    for (const [i, res] of results.entries()) {
      assert.equal(res.code, 0, `push ${names[i]!}: ${res.stderr}`);
    }
    assert.deepEqual(
      await walFilesInRepo(),
      [1, ...[2, 3, 4, 5]].map((n) => `/${segment(n)}`),
    );
    // Each is still recognised as already archived (the catalog sees every one).
    const again = await Promise.all(names.map((n) => r.run(['wal', 'push', 'db', join(wal, n)])));
    for (const res of again) {
      assert.equal(res.code, 0, res.stderr);
      assert.match(res.stdout, /already archived with the same content/);
    }
    await r.assertSound();
  });
});
