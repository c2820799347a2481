/**
 * A PostgreSQL service under Lifeboat's physical backup, for PITR tests: a repository and a
 * plan owned by the postgres user (archive_command runs as that user), a server archiving WAL
 * with `lifeboat wal push` (or none, for stream mode), and `lifeboat` run as postgres.
 */
import assert from 'node:assert/strict';
import { chown, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { lifeboat, type RunResult } from '../support/cli.js';
import { sharedLifeboatBin } from '../support/runtime-copy.js';
import { postgresUser, tempDirFor } from '../support/os-user.js';
import {
  pgRestoreSpot,
  startPostgres,
  type PgOptions,
  type PgServer,
} from '../support/postgres.js';
import { rm } from 'node:fs/promises';

export interface PitrSetup extends AsyncDisposable {
  readonly pg: PgServer;
  readonly dir: string;
  readonly plan: string;
  /** Runs lifeboat as the postgres user with LIFEBOAT_PLAN set; never throws. */
  run(args: string[], timeoutMs?: number): Promise<RunResult>;
  /** Same, but asserts exit 0 and returns stdout. */
  ok(args: string[], timeoutMs?: number): Promise<string>;
  /** Restores the service into a fresh spot with the given target flags; returns the spot. */
  restore(
    flags: string[],
  ): Promise<{ result: RunResult; spot: Awaited<ReturnType<typeof pgRestoreSpot>> }>;
}

export async function pitrSetup(opts: {
  archive: boolean;
  conf?: Record<string, string>;
  pg?: PgOptions;
}): Promise<PitrSetup> {
  const user = postgresUser();
  const dir = await tempDirFor(user, 'lifeboat-pitr-');
  const repo = join(dir, 'repo');
  const repoPw = join(dir, 'repo-password');
  const pgPw = join(dir, 'pg-password');
  const plan = join(dir, 'lifeboat.yaml');
  const archiveCommand = `${process.execPath} ${sharedLifeboatBin()} wal push --plan ${plan} db %p`;
  const pg = await startPostgres({
    ...opts.pg,
    conf: {
      wal_level: 'replica',
      ...(opts.archive ? { archive_mode: 'on', archive_command: archiveCommand } : {}),
      ...opts.conf,
    },
  });
  await writeFile(repoPw, 'repo-secret\n', { mode: 0o600 });
  await writeFile(pgPw, `${pg.password}\n`, { mode: 0o600 });
  await writeFile(
    plan,
    [
      'version: 1',
      'repositories:',
      `  main: { url: ${repo}, password: { file: ${repoPw} } }`,
      'services:',
      '  db:',
      '    source:',
      '      type: postgres',
      '      mode: physical',
      `      host: 127.0.0.1`,
      `      port: ${String(pg.port)}`,
      '      user: postgres',
      `      password: { file: ${pgPw} }`,
      `      wal: { mode: ${opts.archive ? 'archive' : 'stream'}, spool: ${join(dir, 'spool')} }`,
      '',
    ].join('\n'),
  );
  for (const f of [repoPw, pgPw, plan]) await chown(f, user.uid, user.gid);
  const run = (args: string[], timeoutMs = 180_000) =>
    lifeboat(args, { user, cwd: dir, timeoutMs, env: { LIFEBOAT_PLAN: plan } });
  const ok = async (args: string[], timeoutMs?: number) => {
    const r = await run(args, timeoutMs);
    assert.equal(
      r.code,
      0,
      `lifeboat ${args.join(' ')} failed (${String(r.code)}):\n${r.stderr}\n${r.stdout}`,
    );
    return r.stdout;
  };
  const init = await lifeboat(['-r', repo, 'init'], {
    user,
    cwd: dir,
    env: { LIFEBOAT_PASSWORD_FILE: repoPw },
  });
  assert.equal(init.code, 0, init.stderr);
  return {
    pg,
    dir,
    plan,
    run,
    ok,
    async restore(flags) {
      const spot = await pgRestoreSpot();
      const result = await run(restoreArgs(spot, flags));
      return { result, spot };
    },
    async [Symbol.asyncDispose]() {
      await pg[Symbol.asyncDispose]();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Waits until the server has archived every WAL segment up to the current one (switches first). */
export async function archiveAll(pg: PgServer, timeoutMs = 60_000): Promise<void> {
  const last = await pg.psql('SELECT pg_walfile_name(pg_switch_wal())');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const row = await pg.psql(
      "SELECT coalesce(last_archived_wal, ''), coalesce(last_failed_wal, '') FROM pg_stat_archiver",
    );
    const [archived] = row.split('|');
    if (archived !== undefined && archived >= last) return;
    if (Date.now() > deadline) throw new Error(`WAL ${last} not archived in time: ${row}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** `lifeboat restore db` into a restore spot: its data dir, port and socket dir, then `extra`. */
export function restoreArgs(
  spot: { dataDir: string; port: number; socketDir: string },
  extra: readonly string[] = [],
): string[] {
  return [
    'restore',
    'db',
    '--to',
    spot.dataDir,
    '--port',
    String(spot.port),
    '--socket-dir',
    spot.socketDir,
    ...extra,
  ];
}
