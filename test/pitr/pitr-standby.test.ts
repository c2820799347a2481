/**
 * Base backups taken from a streaming standby (to spare the primary), WAL archived by the
 * primary: the usual production layout. A restore to latest has everything the primary
 * committed and archived, including rows written after the standby's backup.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { test } from 'node:test';
import { startStandby } from '../support/postgres.js';
import { archiveAll, pitrSetup } from './pitr-fixture.js';

test(
  "a base backup from a standby restores with the primary's archived WAL",
  { timeout: 300_000 },
  async () => {
    await using s = await pitrSetup({ archive: true });
    await s.pg.psql('CREATE TABLE t (n int); INSERT INTO t SELECT generate_series(1, 1000)');
    await using standby = await startStandby(s.pg);
    for (
      let i = 0;
      i < 50 && (await standby.psql('SELECT count(*) FROM t').catch(() => '0')) !== '1000';
      i++
    ) {
      await new Promise((r) => setTimeout(r, 100));
    }
    const plan = await readFile(s.plan, 'utf8');
    await writeFile(
      s.plan,
      plan.replace(`port: ${String(s.pg.port)}`, `port: ${String(standby.port)}`),
    );
    const out = await s.ok(['--json', 'backup', 'db']);
    assert.match(out, /"type":"summary"/);
    await s.pg.psql('INSERT INTO t SELECT generate_series(1001, 1500)');
    await archiveAll(s.pg);
    const { result, spot } = await s.restore([]);
    await using _spot = spot;
    assert.equal(result.code, 0, `${result.stderr}\n${result.stdout}`);
    assert.equal(await spot.psql('SELECT count(*), max(n) FROM t'), '1500|1500');
  },
);
