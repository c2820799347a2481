/**
 * PITR exactness (issue 3), the PostgreSQL recovery-test pattern: a workload commits marker
 * rows in phases and records, after each, the time, the LSN, the xid and a named restore
 * point; WAL reaches the repository through `lifeboat wal push` as archive_command. Restoring
 * to each target must give exactly the rows committed up to it and none after, for every
 * target type; a target beyond the archived WAL must fail clearly.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { archiveAll, pitrSetup, type PitrSetup } from './pitr-fixture.js';

interface Phase {
  time: string;
  lsn: string;
  xid: string;
  name: string;
}

describe('PITR from archive_command WAL', { timeout: 600_000 }, () => {
  let s: PitrSetup;
  const phases: Phase[] = [];

  before(async () => {
    s = await pitrSetup({ archive: true });
    await s.pg.psql(
      'CREATE TABLE marks (phase int NOT NULL, n int NOT NULL, at timestamptz DEFAULT clock_timestamp())',
    );
    await s.ok(['backup', 'db']);
    for (let phase = 1; phase <= 3; phase++) {
      // One transaction per phase; its xid is the xid target.
      const xid = await s.pg.psql(
        `BEGIN; INSERT INTO marks SELECT ${String(phase)}, g FROM generate_series(1, 100) g; SELECT txid_current(); COMMIT;`,
      );
      const lsn = await s.pg.psql('SELECT pg_current_wal_lsn()');
      await sleep(300);
      const time = await s.pg.psql(
        "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00'",
      );
      await sleep(300);
      const name = `phase${String(phase)}`;
      await s.pg.psql(`SELECT pg_create_restore_point('${name}')`);
      phases.push({ time, lsn, xid: xid.trim(), name });
      await sleep(200);
    }
    await archiveAll(s.pg);
  });

  after(async () => {
    await s[Symbol.asyncDispose]();
  });

  async function restoredPhases(flags: string[]): Promise<string> {
    const { result, spot } = await s.restore(flags);
    await using _spot = spot;
    assert.equal(
      result.code,
      0,
      `restore ${flags.join(' ')} failed:\n${result.stderr}\n${result.stdout}`,
    );
    try {
      return await spot.psql('SELECT phase, count(*) FROM marks GROUP BY phase ORDER BY phase');
    } catch (e) {
      const log = await readFile(`${spot.dataDir}.restore.log`, 'utf8').catch(() => '(no log)');
      throw new Error(
        `${(e as Error).message}\nrestore output:\n${result.stdout}\nserver log:\n${log.slice(-3000)}`,
      );
    }
  }

  const upTo = (p: number) =>
    [1, 2, 3]
      .filter((x) => x <= p)
      .map((x) => `${String(x)}|100`)
      .join('\n');

  for (const p of [1, 2]) {
    test(`--time after phase ${String(p)}`, async () => {
      assert.equal(await restoredPhases(['--time', phases[p - 1]!.time]), upTo(p));
    });
    test(`--lsn after phase ${String(p)}`, async () => {
      assert.equal(await restoredPhases(['--lsn', phases[p - 1]!.lsn]), upTo(p));
    });
    test(`--xid of phase ${String(p)}`, async () => {
      assert.equal(await restoredPhases(['--xid', phases[p - 1]!.xid]), upTo(p));
    });
    test(`--name phase${String(p)}`, async () => {
      assert.equal(await restoredPhases(['--name', phases[p - 1]!.name]), upTo(p));
    });
  }

  test('latest: every phase', async () => {
    assert.equal(await restoredPhases([]), upTo(3));
  });

  test('an LSN beyond the archived WAL is refused before anything is written', async () => {
    const { result, spot } = await s.restore(['--lsn', 'FF/0']);
    await using _spot = spot;
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, /beyond the archived WAL/);
  });

  test('a time beyond the archived WAL fails clearly, not with a silent early stop', async () => {
    const { result, spot } = await s.restore(['--time', '2099-01-01 00:00:00+00']);
    await using _spot = spot;
    assert.equal(result.code, 1, result.stdout);
    assert.match(result.stderr, /before the recovery target|not reach|recovery target/i);
  });

  test('wal verify reports a healthy window', async () => {
    const out = await s.ok(['wal', 'verify', 'db']);
    assert.match(
      out,
      /recoverable from [0-9A-F]+\/[0-9A-F]+ to [0-9A-F]+\/[0-9A-F]+ on timeline 1/,
    );
  });
});
