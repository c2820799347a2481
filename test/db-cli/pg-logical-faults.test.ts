/**
 * Issue 3, "Faults", for a PostgreSQL service in logical mode, end to end through the CLI: a
 * server that cannot be reached, a pg_dump killed mid-dump and a server restarted mid-dump
 * each fail the job and record no snapshot, leave the repository sound for Lifeboat and
 * restic, and leave the earlier good backup restorable; a restore over a database that holds
 * tables is refused without --force. Also the NDJSON of `backup` and `restore --to`.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { freePort } from '../support/free-port.js';
import { ndjson, type RunResult, type SnapshotJson } from '../support/cli.js';
import { startPostgres, type PgServer } from '../support/postgres.js';
import { dbCliRepo, repoLocks, waitForTool, type DbCliRepo } from './db-cli-fixture.js';

// What the good backup holds: a small database, so restoring it is quick.
const SMALL_SQL = `
CREATE TABLE orders (id int PRIMARY KEY, note text NOT NULL);
INSERT INTO orders SELECT g, 'order ' || g FROM generate_series(1, 2000) g;`;
const DIGEST_SQL = `SELECT count(*) || ':' || md5(string_agg(id || '=' || note, ',' ORDER BY id)) FROM orders`;

// Loaded after the good backup: about 80 MiB of rows, so a dump runs long enough to be hit.
const BULK_SQL = `
CREATE TABLE bulk (id int, payload text);
INSERT INTO bulk SELECT g, repeat(md5(g::text), 4) FROM generate_series(1, 450000) g;`;

const HEX64 = /^[0-9a-f]{64}$/;

/** Bytes the process wrote so far (pipes included), from /proc/<pid>/io. */
function bytesWritten(pid: number): number {
  try {
    return Number(/^wchar: (\d+)$/m.exec(readFileSync(`/proc/${pid}/io`, 'utf8'))?.[1] ?? 0);
  } catch {
    return -1; // exited
  }
}

/** Waits until the pg_dump of `app` has written `bytes` (it is mid-dump); returns its pid. */
async function midDump(marker: string, bytes = 4 << 20): Promise<number> {
  const tool = await waitForTool(marker, 'pg_dump', 'app');
  const deadline = Date.now() + 30_000;
  for (;;) {
    const n = bytesWritten(tool.pid);
    if (n < 0) throw new Error('pg_dump of app ended before the fault could be injected');
    if (n >= bytes) return tool.pid;
    if (Date.now() > deadline) throw new Error(`pg_dump wrote only ${n} bytes in 30 s`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const summaryOf = (r: RunResult) => {
  const records = ndjson(r.stdout);
  assert.ok(records.length > 0, 'no NDJSON records');
  const last = records.at(-1)!;
  assert.equal(last.type, 'summary', `the last record is not the summary: ${r.stdout}`);
  assert.equal(records.filter((x) => x.type === 'summary').length, 1);
  return last;
};

const ofService = (snaps: SnapshotJson[], name: string) =>
  snaps.filter((s) => s.tags?.includes(`service=${name}`));

describe('PostgreSQL logical service: faults through the CLI', { timeout: 300_000 }, () => {
  let pg: PgServer;
  let r: DbCliRepo;
  let closedPort: number;
  let good: { snapshotId: string; digest: string; backup: RunResult };
  // The failing jobs' TMPDIR: their password files live there and must not outlive them.
  let jobTmp: { env: { TMPDIR: string } };

  before(async () => {
    [pg, r] = await Promise.all([startPostgres({ fast: true }), dbCliRepo('lb-dbcli-logical-')]);
    closedPort = await freePort();
    jobTmp = { env: { TMPDIR: join(r.dir, 'job-tmp') } };
    await mkdir(jobTmp.env.TMPDIR);
    const pgPw = join(r.dir, 'pg-password');
    await writeFile(pgPw, `${pg.password}\n`, { mode: 0o600 });
    await r.writePlan({
      db: { port: pg.port, passwordFile: pgPw, databases: ['app', 'postgres'] },
      down: { port: closedPort, passwordFile: pgPw },
    });
    await pg.psql('CREATE DATABASE app');
    await pg.psql(SMALL_SQL, 'app');
    const backup = await r.run(['--json', 'backup', 'db']);
    assert.equal(backup.code, 0, backup.stderr);
    const snapshotId = summaryOf(backup).snapshotId as string;
    good = { snapshotId, digest: await pg.psql(DIGEST_SQL, 'app'), backup };
    await pg.psql(BULK_SQL, 'app');
  });

  after(async () => {
    await pg?.[Symbol.asyncDispose]();
    await r?.[Symbol.asyncDispose]();
  });

  /** The job failed, wrote no snapshot, left no lock, and the repository is sound. */
  async function assertNothingRecorded(res: RunResult, what: string) {
    assert.notEqual(res.code, 0, `${what}: the backup succeeded:\n${res.stdout}`);
    assert.equal(res.signal, null, `${what}: lifeboat itself died: ${String(res.signal)}`);
    assert.doesNotMatch(res.stdout + res.stderr, /snapshot [0-9a-f]{8} saved/);
    const snaps = await r.snapshots();
    assert.deepEqual(
      snaps.map((s) => s.id),
      [good.snapshotId],
      `${what}: a snapshot was recorded`,
    );
    assert.deepEqual(await repoLocks(r.repo), [], `${what}: a lock was left behind`);
    assert.deepEqual(await readdir(jobTmp.env.TMPDIR), [], `${what}: temp files left behind`);
    await r.assertSound();
  }

  test('backup --json is NDJSON ending in one summary record', () => {
    const sum = summaryOf(good.backup);
    assert.equal(sum.command, 'backup');
    assert.equal(sum.service, 'db');
    assert.match(sum.snapshotId as string, HEX64);
    for (const k of ['bytesProcessed', 'bytesAdded', 'filesNew', 'durationMs']) {
      assert.equal(typeof sum[k], 'number', `summary.${k}: ${JSON.stringify(sum)}`);
    }
    assert.ok((sum.bytesProcessed as number) > 0);
    assert.equal(sum.filesNew, 3, 'globals.sql, db-app.pgdump, db-postgres.pgdump');
  });

  test('an unreachable server: exit 1 naming host:port, no snapshot, repository sound', async () => {
    const res = await r.run(['backup', 'down'], jobTmp);
    assert.equal(res.code, 1, res.stderr);
    assert.ok(res.stderr.includes(`127.0.0.1:${String(closedPort)}`), res.stderr);
    assert.ok(!(res.stdout + res.stderr).includes(pg.password), 'the password was printed');
    const json = await r.run(['--json', 'backup', 'down'], jobTmp);
    assert.equal(json.code, 1);
    const err = ndjson(json.stdout).find((x) => x.type === 'error');
    assert.equal(err?.code, 'UNREACHABLE', json.stdout);
    assert.ok(!json.stdout.includes(pg.password), 'the password was printed');
    assert.equal(ofService(await r.snapshots(), 'down').length, 0);
    await assertNothingRecorded(res, 'unreachable');
  });

  test('pg_dump killed mid-dump: the job fails and records no snapshot', async () => {
    const running = r.run(['backup', 'db'], jobTmp);
    let killed = false;
    try {
      process.kill(await midDump(r.plan), 'SIGKILL');
      killed = true;
    } finally {
      const res = await running;
      if (killed) {
        assert.match(res.stderr, /pg_dump of database app/);
        await assertNothingRecorded(res, 'pg_dump killed');
      }
    }
  });

  test('the server restarted mid-dump: the job fails and records no snapshot', async () => {
    const running = r.run(['backup', 'db'], jobTmp);
    let restarted = false;
    try {
      await midDump(r.plan);
      await pg.stop('fast');
      await pg.start();
      restarted = true;
    } finally {
      const res = await running;
      if (!pg.running) await pg.start();
      if (restarted) {
        assert.match(res.stderr, /pg_dump of database app/);
        await assertNothingRecorded(res, 'server restart');
      }
    }
  });

  test('the earlier good backup still restores into a fresh server (restore --json)', async () => {
    await using target = await startPostgres({ fast: true });
    const res = await r.run(
      ['--json', 'restore', 'db', '--to', `127.0.0.1:${String(target.port)}`],
      {
        env: { LIFEBOAT_TARGET_PASSWORD: target.password },
      },
    );
    assert.equal(res.code, 0, res.stderr);
    const sum = summaryOf(res);
    assert.equal(sum.command, 'restore');
    assert.equal(sum.service, 'db');
    assert.equal(sum.snapshotId, good.snapshotId);
    assert.deepEqual(sum.parts, ['globals.sql', 'db-app.pgdump', 'db-postgres.pgdump']);
    assert.equal(typeof sum.durationMs, 'number');
    assert.ok(Array.isArray(sum.notes));
    assert.equal(await target.psql(DIGEST_SQL, 'app'), good.digest);
    // The bulk table came after the good backup: a restore of it must not have it.
    assert.equal(await target.psql("SELECT to_regclass('bulk') IS NULL", 'app'), 't');
  });

  test('a restore over a database that holds tables is refused without --force', async () => {
    await using target = await startPostgres({ fast: true });
    await target.psql('CREATE DATABASE app');
    await target.psql("CREATE TABLE keep (v text); INSERT INTO keep VALUES ('mine');", 'app');
    const to = ['--to', `127.0.0.1:${String(target.port)}`];
    const env = { LIFEBOAT_TARGET_PASSWORD: target.password };

    const refused = await r.run(['restore', 'db', ...to], { env });
    assert.equal(refused.code, 1, refused.stdout);
    assert.match(refused.stderr, /"app" \(1 tables\) already holds data/);
    assert.match(refused.stderr, /force/);
    assert.equal(await target.psql('SELECT v FROM keep', 'app'), 'mine');
    assert.equal(await target.psql("SELECT to_regclass('orders') IS NULL", 'app'), 't');

    const forced = await r.run(['restore', 'db', ...to, '--force'], { env });
    assert.equal(forced.code, 0, forced.stderr);
    assert.equal(await target.psql(DIGEST_SQL, 'app'), good.digest);
    assert.equal(await target.psql("SELECT to_regclass('keep') IS NULL", 'app'), 't');
  });
});
