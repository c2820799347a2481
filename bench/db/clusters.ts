/**
 * The PostgreSQL 15 clusters of the database benchmark, started by the benchmark itself
 * (test/support/postgres.ts: loopback, a free port, a temp dir, run as postgres): sources
 * initialised with `pgbench -i`, archiving WAL when asked, and fresh servers to restore into.
 */
import { appendFile, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startPostgres, type PgServer } from '../../test/support/postgres.js';
import type { Commands } from './commands.js';
import { mustRun } from './exec.js';

/** Same settings on every source and every restore target, so no side gets a better server. */
export const SERVER_CONF: Record<string, string> = {
  shared_buffers: '128MB',
  maintenance_work_mem: '256MB',
  max_wal_size: '4GB',
};

/**
 * A source: WAL level replica with archiving on, archive_command a no-op until
 * setArchiveCommand points it at a tool (the pgbench -i load is not worth archiving).
 */
export function startSource(): Promise<PgServer> {
  return startPostgres({
    conf: {
      ...SERVER_CONF,
      wal_level: 'replica',
      archive_mode: 'on',
      archive_command: '/bin/true',
    },
  });
}

export function startTarget(): Promise<PgServer> {
  return startPostgres({ conf: SERVER_CONF });
}

/** CREATE DATABASE bench; pgbench -i -s <scale> (as postgres, over the unix socket). */
export async function pgbenchInit(pg: PgServer, cmd: Commands, scale: number): Promise<void> {
  await pg.psql('CREATE DATABASE bench');
  await mustRun(
    cmd.pgClient('pgbench', [
      '-i',
      '-q',
      '-s',
      String(scale),
      '-h',
      pg.socketDir,
      '-p',
      String(pg.port),
      'bench',
    ]),
    `pgbench -i -s ${String(scale)}`,
  );
  await pg.psql('CHECKPOINT');
}

/** Runs pgbench against `db` over the unix socket. */
export function pgbench(
  pg: PgServer,
  cmd: Commands,
  args: string[],
  env: Record<string, string> = {},
): Promise<string> {
  return mustRun(
    cmd.pgClient('pgbench', [...args, '-h', pg.socketDir, '-p', String(pg.port), 'bench'], env),
    `pgbench ${args.join(' ')}`,
  );
}

/** Sets archive_command (a line appended to postgresql.conf, then a reload) and waits for it. */
export async function setArchiveCommand(pg: PgServer, command: string): Promise<void> {
  await appendFile(
    join(pg.dataDir, 'postgresql.conf'),
    `archive_command = '${command.replace(/'/g, "''")}'\n`,
  );
  await pg.psql('SELECT pg_reload_conf()');
  const deadline = Date.now() + 10_000;
  while ((await pg.psql('SHOW archive_command')) !== command) {
    if (Date.now() > deadline)
      throw new Error(`archive_command of port ${String(pg.port)} did not change`);
    await sleep(50);
  }
}

/** Switches to a new WAL segment and waits until the archiver has stored every full one. */
export async function archiveAll(pg: PgServer, timeoutMs = 300_000): Promise<void> {
  const last = await pg.psql('SELECT pg_walfile_name(pg_switch_wal())');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const row = await pg.psql(
      "SELECT coalesce(last_archived_wal, '') || '|' || coalesce(last_failed_wal, '') FROM pg_stat_archiver",
    );
    const [archived, failed] = row.split('|');
    if (archived !== undefined && archived >= last) return;
    if (Date.now() > deadline) {
      throw new Error(
        `WAL ${last} of port ${String(pg.port)} not archived in time (archived ${archived ?? '-'}, failed ${failed ?? '-'})`,
      );
    }
    await sleep(100);
  }
}

/** What a correct copy of the pgbench database must show: rows and the sum of balances. */
export const FINGERPRINT_SQL = `SELECT (SELECT count(*) FROM pgbench_accounts) || ' accounts, balance ' ||
  (SELECT coalesce(sum(abalance), 0) FROM pgbench_accounts) || ', ' ||
  (SELECT count(*) FROM pgbench_history) || ' history rows, ' ||
  (SELECT count(*) FROM pg_indexes WHERE schemaname = 'public') || ' indexes'`;

export function fingerprint(pg: {
  psql(sql: string, db?: string): Promise<string>;
}): Promise<string> {
  return pg.psql(FINGERPRINT_SQL, 'bench');
}

export async function databaseBytes(pg: PgServer, db: string): Promise<number> {
  return Number(await pg.psql(`SELECT pg_database_size('${db}')`));
}

/** Sum of every database: what a physical backup copies, WAL aside. */
export async function clusterBytes(pg: PgServer): Promise<number> {
  return Number(await pg.psql('SELECT sum(pg_database_size(oid)) FROM pg_database'));
}

/** A timestamp PostgreSQL and both tools read the same way, in UTC. */
export function nowSql(pg: PgServer): Promise<string> {
  return pg.psql(
    "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00'",
  );
}

export interface ArchiverReport {
  archived: number;
  failed: number;
  /** Server log lines about failed archive commands written meanwhile (with their output). */
  failures: string[];
}

/**
 * Watches a source's archiver across a timed run: how many segments it archived and how often
 * the archive_command failed (a failure makes PostgreSQL wait up to a minute before retrying,
 * which a backup that waits for its last segment pays for).
 */
export async function watchArchiver(pg: PgServer): Promise<() => Promise<ArchiverReport>> {
  const stats = async () =>
    (await pg.psql('SELECT archived_count, failed_count FROM pg_stat_archiver'))
      .split('|')
      .map(Number);
  const [archived0 = 0, failed0 = 0] = await stats();
  const logStart = (await stat(pg.logFile)).size;
  return async () => {
    const [archived = 0, failed = 0] = await stats();
    const text = (await readFile(pg.logFile)).subarray(logStart).toString('utf8');
    const lines = text.split('\n');
    const failures: string[] = [];
    lines.forEach((line, i) => {
      if (!/archive command failed/.test(line)) return;
      // The command's own stderr precedes PostgreSQL's line; keep a few lines of it.
      failures.push(
        ...lines
          .slice(Math.max(0, i - 3), i + 2)
          .map((l) => l.trim())
          .filter(Boolean),
      );
    });
    return {
      archived: archived - archived0,
      failed: failed - failed0,
      failures: failures.slice(0, 20),
    };
  };
}
