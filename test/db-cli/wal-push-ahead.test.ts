/**
 * Issue 3, `lifeboat wal push` pushing ahead: files PostgreSQL marked ready beside the one it
 * asks for (pg_wal/archive_status/*.ready) are stored in the same run; the archiver's later
 * call for one of them is answered from its mark without opening the repository, but only
 * for the very bytes that were stored, and only once. --no-ahead stores the one file only.
 */
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pseudoRandom } from '../support/cli.js';
import { dbCliRepo, type DbCliRepo } from './db-cli-fixture.js';

const segment = (n: number) =>
  `0000000100000000000000${n.toString(16).toUpperCase().padStart(2, '0')}`;

describe(
  'lifeboat wal push: files PostgreSQL has ready go in the same run',
  { timeout: 120_000 },
  () => {
    let r: DbCliRepo;
    let wal: string;

    const ready = async (name: string, bytes: Buffer | string) => {
      await writeFile(join(wal, name), bytes);
      await writeFile(join(wal, 'archive_status', `${name}.ready`), '');
    };
    const walFilesInRepo = async () =>
      (await r.snapshots())
        .filter((s) => s.tags?.includes('kind=wal') && s.tags.includes('service=db'))
        .map((s) => s.paths.join(','))
        .sort();
    const summary = (stdout: string) =>
      stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .find((x) => x['type'] === 'summary')!;

    before(async () => {
      r = await dbCliRepo('lb-dbcli-walahead-');
      await r.writePlan({ db: { mode: 'physical', port: 9 } });
      wal = join(r.dir, 'pg_wal');
      await mkdir(join(wal, 'archive_status'), { recursive: true });
    });
    after(() => r?.[Symbol.asyncDispose]());

    test('one push stores the ready files too; their own calls are answered from the marks', async () => {
      await ready(segment(0x10), pseudoRandom(256 * 1024, 'segment 10'));
      await ready(segment(0x11), pseudoRandom(256 * 1024, 'segment 11'));
      const backupLabel = `${segment(0x11)}.00000028.backup`;
      await ready(backupLabel, 'START WAL LOCATION: 0/11000028 (file 000000010000000000000011)\n');
      await writeFile(join(wal, 'archive_status', 'not-a-wal-file.ready'), '');

      const first = await r.run(['wal', 'push', 'db', join(wal, segment(0x10))]);
      assert.equal(first.code, 0, first.stderr);
      assert.match(first.stdout, /also stored 2 file\(s\) PostgreSQL had ready/);
      assert.deepEqual(await walFilesInRepo(), [
        `/${segment(0x10)}`,
        `/${segment(0x11)}`,
        `/${backupLabel}`,
      ]);

      for (const name of [segment(0x11), backupLabel]) {
        const res = await r.run(['--json', 'wal', 'push', 'db', join(wal, name)]);
        assert.equal(res.code, 0, res.stderr);
        const s = summary(res.stdout);
        assert.equal(s['status'], 'unchanged');
        assert.equal(s['pushedAhead'], true, `${name} answered from its mark`);
      }
      // A mark answers once: the next call checks the repository (same bytes: still exit 0).
      const again = await r.run(['--json', 'wal', 'push', 'db', join(wal, segment(0x11))]);
      assert.equal(again.code, 0, again.stderr);
      assert.equal(summary(again.stdout)['pushedAhead'], undefined);
      assert.equal(summary(again.stdout)['status'], 'unchanged');
      await r.assertSound();
    });

    test('a file changed after it was pushed ahead is not answered from its mark', async () => {
      await ready(segment(0x20), pseudoRandom(256 * 1024, 'segment 20'));
      await ready(segment(0x21), pseudoRandom(256 * 1024, 'segment 21'));
      const first = await r.run(['wal', 'push', 'db', join(wal, segment(0x20))]);
      assert.equal(first.code, 0, first.stderr);
      assert.ok((await walFilesInRepo()).includes(`/${segment(0x21)}`));
      await writeFile(join(wal, segment(0x21)), pseudoRandom(256 * 1024, 'something else'));
      const res = await r.run(['wal', 'push', 'db', join(wal, segment(0x21))]);
      assert.notEqual(res.code, 0, res.stdout);
      assert.match(res.stderr, /already archived .* with different content/);
    });

    test('--no-ahead stores the one file only', async () => {
      await ready(segment(0x30), pseudoRandom(64 * 1024, 'segment 30'));
      await ready(segment(0x31), pseudoRandom(64 * 1024, 'segment 31'));
      const res = await r.run(['wal', 'push', '--no-ahead', 'db', join(wal, segment(0x30))]);
      assert.equal(res.code, 0, res.stderr);
      const files = await walFilesInRepo();
      assert.ok(files.includes(`/${segment(0x30)}`));
      assert.ok(!files.includes(`/${segment(0x31)}`), files.join(' '));
    });
  },
);
