/**
 * The database benchmark's work directory: a temp dir owned by the `postgres` OS user (the
 * archive_command runs as that user and must reach the plan, the password files and the
 * repositories), holding the Lifeboat plan, restic's and pgBackRest's settings, every
 * repository, the pg_dump file and the CPU profiles. Secrets live in 0600 files only.
 */
import { randomBytes } from 'node:crypto';
import { chown, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { postgresUser, tempDirFor, type OsUser } from '../../test/support/os-user.js';

export interface Repos {
  readonly lifeboatLogical: string;
  readonly resticLogical: string;
  readonly lifeboatPhysical: string;
  readonly pgbackrest: string;
  readonly lifeboatEvents: string;
  readonly resticEvents: string;
  readonly lifeboatPgbench: string;
  readonly resticPgbench: string;
}

export interface Workspace {
  readonly dir: string;
  readonly user: OsUser;
  /** One password for every Lifeboat and restic repository (restic's RESTIC_PASSWORD_FILE). */
  readonly repoPasswordFile: string;
  /** The source server's password, for the plan's `password: { file }`. */
  readonly pgPasswordFile: string;
  readonly planFile: string;
  readonly pgbackrestConf: string;
  readonly resticCache: string;
  readonly dumpFile: string;
  readonly profiles: string;
  readonly repos: Repos;
  remove(): Promise<void>;
}

export const PGBACKREST_STANZA = 'bench';

/** Creates `path` (and parents) owned by the postgres user. */
export async function ownedDir(ws: { user: OsUser }, path: string): Promise<string> {
  await mkdir(path, { recursive: true, mode: 0o700 });
  await chown(path, ws.user.uid, ws.user.gid);
  return path;
}

/** Writes a 0600 file owned by the postgres user. */
export async function ownedFile(ws: { user: OsUser }, path: string, text: string): Promise<void> {
  await writeFile(path, text, { mode: 0o600 });
  await chown(path, ws.user.uid, ws.user.gid);
}

export async function createWorkspace(): Promise<Workspace> {
  const user = postgresUser();
  const dir = await tempDirFor(user, 'lifeboat-bench-db-');
  const r = (name: string) => join(dir, 'repos', name);
  const ws: Workspace = {
    dir,
    user,
    repoPasswordFile: join(dir, 'repo-password'),
    pgPasswordFile: join(dir, 'pg-password'),
    planFile: join(dir, 'lifeboat.yaml'),
    pgbackrestConf: join(dir, 'pgbackrest.conf'),
    resticCache: join(dir, 'restic-cache'),
    dumpFile: join(dir, 'dumps', 'bench.dump'),
    profiles: join(dir, 'profiles'),
    repos: {
      lifeboatLogical: r('lifeboat-logical'),
      resticLogical: r('restic-logical'),
      lifeboatPhysical: r('lifeboat-physical'),
      pgbackrest: r('pgbackrest'),
      lifeboatEvents: r('lifeboat-events'),
      resticEvents: r('restic-events'),
      lifeboatPgbench: r('lifeboat-pgbench'),
      resticPgbench: r('restic-pgbench'),
    },
    remove: () => rm(dir, { recursive: true, force: true, maxRetries: 3 }),
  };
  for (const sub of ['repos', 'dumps', 'restic-cache', 'profiles', 'pgbackrest']) {
    await ownedDir(ws, join(dir, sub));
  }
  await ownedFile(ws, ws.repoPasswordFile, `${randomBytes(18).toString('base64url')}\n`);
  return ws;
}

export interface SourceServer {
  readonly port: number;
  readonly password: string;
}

/**
 * The plan: one service per measurement, each in its own repository so that repository sizes
 * and "added" bytes belong to one test only.
 */
export function planYaml(ws: Workspace, source: SourceServer): string {
  const repo = (name: string, url: string, primary = false) =>
    `  ${name}: { url: ${url}, password: { file: ${ws.repoPasswordFile} }${primary ? ', primary: true' : ''} }`;
  const conn = `host: 127.0.0.1, port: ${String(source.port)}, user: postgres, password: { file: ${ws.pgPasswordFile} }`;
  return [
    '# Written by bench/db: the plan of the database benchmark.',
    'version: 1',
    'repositories:',
    repo('logical', ws.repos.lifeboatLogical, true),
    repo('physical', ws.repos.lifeboatPhysical),
    repo('events', ws.repos.lifeboatEvents),
    repo('pgbench', ws.repos.lifeboatPgbench),
    'services:',
    '  db:',
    '    repository: logical',
    `    source: { type: postgres, ${conn}, databases: [bench] }`,
    '  pgphys:',
    '    repository: physical',
    `    source: { type: postgres, mode: physical, ${conn} }`,
    '  events:',
    '    repository: events',
    `    source: { type: postgres, ${conn}, databases: [eventsdb] }`,
    '  db-dedup:',
    '    repository: pgbench',
    `    source: { type: postgres, ${conn}, databases: [bench] }`,
    '',
  ].join('\n');
}

export interface PgbackrestServer {
  readonly dataDir: string;
  readonly port: number;
  readonly socketDir: string;
}

/**
 * pgBackRest's settings, chosen to match what Lifeboat does: zstd level 3 and encryption
 * (Lifeboat always encrypts), 2 processes (the machine's cores), a fast start checkpoint
 * (pg_basebackup's default).
 */
export function pgbackrestConf(
  ws: Workspace,
  server: PgbackrestServer,
  cipherPass: string,
): string {
  const d = join(ws.dir, 'pgbackrest');
  return [
    '[global]',
    `repo1-path=${ws.repos.pgbackrest}`,
    'repo1-retention-full=99',
    'repo1-cipher-type=aes-256-cbc',
    `repo1-cipher-pass=${cipherPass}`,
    'compress-type=zst',
    'compress-level=3',
    'process-max=2',
    'start-fast=y',
    'log-level-console=warn',
    `log-path=${join(d, 'log')}`,
    `lock-path=${join(d, 'lock')}`,
    `spool-path=${join(d, 'spool')}`,
    '',
    `[${PGBACKREST_STANZA}]`,
    `pg1-path=${server.dataDir}`,
    `pg1-port=${String(server.port)}`,
    `pg1-socket-path=${server.socketDir}`,
    'pg1-user=postgres',
    '',
  ].join('\n');
}
