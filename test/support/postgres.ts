/**
 * Throwaway PostgreSQL 15 servers for integration tests: `await using pg = await startPostgres()`.
 * Each server runs as the unprivileged `postgres` OS user (PostgreSQL refuses root) in its own
 * temp dir, listens on 127.0.0.1 on a free port and on a private unix socket dir, and is
 * SIGKILLed at process exit if a test forgot to dispose it. Never touches the stock cluster.
 *
 * Speed: initdb runs once per test process into a template; each server gets a copy (~0.1 s
 * instead of ~0.7 s). TCP logins use scram-sha-256 with a random password; the socket is trust.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, readlinkSync } from 'node:fs';
import { appendFile, chown, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort, waitPortClosed } from './free-port.js';
import {
  atExit,
  cleanEnv,
  logTail,
  postgresUser,
  processGroupMembers,
  removeAtExit,
  run,
  runOk,
  ServerProcess,
  tempDirFor,
  type OsUser,
} from './os-user.js';

export const PG_BIN = '/usr/lib/postgresql/15/bin';
const START_TIMEOUT_MS = 30_000;

export interface PgServer extends AsyncDisposable {
  readonly host: string;
  readonly port: number;
  /** Owned by postgres. */
  readonly dataDir: string;
  /** unix_socket_directories; connect with `-h socketDir -p port`. */
  readonly socketDir: string;
  /** Temp dir holding dataDir, socketDir, the log, the pgpass file; free for archive dirs. */
  readonly baseDir: string;
  /** The superuser, 'postgres'. */
  readonly user: string;
  /** Random; TCP logins use scram-sha-256, the unix socket is trust. */
  readonly password: string;
  /** A libpq password file (0600, owned by postgres) with this server's password. */
  readonly passFile: string;
  readonly osUser: OsUser;
  /** The server's stdout/stderr. */
  readonly logFile: string;
  /**
   * `psql -X -A -t -q -v ON_ERROR_STOP=1` over the unix socket as the superuser, SQL on stdin
   * (so several statements may be sent; -q drops command tags, only query output remains).
   * Resolves with stdout minus its final newline; throws with stderr on failure.
   */
  psql(sql: string, database?: string): Promise<string>;
  /** Same over TCP with the password from passFile (PGPASSFILE), proving password auth. */
  psqlTcp(sql: string, database?: string): Promise<string>;
  /** Shuts down (signal as pg_ctl stop -m would send) and waits for the postmaster to exit. */
  stop(mode?: 'fast' | 'immediate'): Promise<void>;
  /** Crash: SIGKILLs the postmaster and its children; waits until all died and the port closed. */
  kill(): Promise<void>;
  /** Starts again on the same data dir and port (after stop/kill, or noStart); waits for ready. */
  start(): Promise<void>;
  readonly running: boolean;
}

export interface PgOptions {
  /** Extra postgresql.conf settings (quoted for you), e.g. { archive_mode: 'on' }. */
  conf?: Record<string, string>;
  /**
   * Extra pg_hba.conf lines. They are placed before the defaults so that they take effect;
   * the defaults allow: local all/replication trust, host all/replication 127.0.0.1/32 scram.
   */
  hba?: string[];
  /** For tests that never crash the server: fsync, synchronous_commit, full_page_writes off. */
  fast?: boolean;
  /** Extra environment for the server process (e.g. PATH for an archive_command). */
  env?: Record<string, string>;
  /** Only prepare the data dir; call start() later. */
  noStart?: boolean;
}

/** Thrown when the server lost the race for its port; startPostgres retries on a new one. */
class PortTakenError extends Error {}

function pgEnv(extra: Record<string, string> = {}): Record<string, string> {
  return cleanEnv({ LC_ALL: 'C', ...extra });
}

function confLines(settings: Record<string, string>): string {
  return Object.entries(settings)
    .map(([name, value]) => {
      if (!/^[a-z_][a-z0-9_.]*$/i.test(name)) throw new Error(`bad setting name '${name}'`);
      return `${name} = '${value.replace(/'/g, "''")}'\n`;
    })
    .join('');
}

let template: Promise<string> | undefined;

/** One initdb per test process; servers start from copies of it. */
function templateDataDir(): Promise<string> {
  template ??= (async () => {
    const user = postgresUser();
    const dir = await tempDirFor(user, 'lifeboat-pg-template-');
    removeAtExit(dir);
    const data = join(dir, 'data');
    const args = ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C', '-N'];
    await runOk(join(PG_BIN, 'initdb'), args, { user, env: pgEnv(), cwd: dir });
    return data;
  })();
  template.catch(() => (template = undefined)); // let a later call try again
  return template;
}

/** Creates baseDir's layout (data dir copied from the template, socket dir) for `user`. */
async function prepareBase(user: OsUser, prefix: string): Promise<string> {
  const baseDir = await tempDirFor(user, prefix);
  const socketDir = join(baseDir, 'socket');
  await mkdir(socketDir, { mode: 0o700 });
  await chown(socketDir, user.uid, user.gid);
  return baseDir;
}

async function writeServerConfig(
  dataDir: string,
  port: number,
  socketDir: string,
  opts: PgOptions,
): Promise<void> {
  const settings: Record<string, string> = {
    listen_addresses: '127.0.0.1',
    port: String(port),
    unix_socket_directories: socketDir,
    max_connections: '50',
    shared_buffers: '32MB',
    logging_collector: 'off',
    log_destination: 'stderr',
    ...(opts.fast === true
      ? { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' }
      : {}),
    ...opts.conf,
  };
  // Appended: later lines win over the template's (or, for a standby, the primary's) values.
  await appendFile(
    join(dataDir, 'postgresql.conf'),
    `\n# lifeboat test server\n${confLines(settings)}`,
  );
  const hba = [
    '# lifeboat test server: extra lines first, then the defaults',
    ...(opts.hba ?? []),
    'local all all trust',
    'local replication all trust',
    'host all all 127.0.0.1/32 scram-sha-256',
    'host replication all 127.0.0.1/32 scram-sha-256',
  ];
  await writeFile(join(dataDir, 'pg_hba.conf'), hba.join('\n') + '\n');
}

async function writePassFile(file: string, user: OsUser, lines: string[]): Promise<void> {
  await writeFile(file, lines.join('\n') + '\n', { mode: 0o600 });
  await chown(file, user.uid, user.gid);
}

/** Runs psql as ourselves (root may read the postgres-owned dirs); SQL goes in on stdin. */
async function psqlAt(
  host: string,
  port: number,
  sql: string,
  database: string,
  env: Record<string, string> = {},
): Promise<string> {
  const args = ['-X', '-A', '-t', '-q', '-v', 'ON_ERROR_STOP=1'];
  args.push('-h', host, '-p', String(port), '-U', 'postgres', '-d', database);
  const r = await run(join(PG_BIN, 'psql'), args, { input: sql, env: pgEnv(env) });
  if (r.code !== 0) {
    throw new Error(
      `psql on ${host}:${port}/${database} failed (exit ${r.code}): ${r.stderr.trim()}`,
    );
  }
  return r.stdout.replace(/\n$/, '');
}

/** Reads postmaster.pid: [pid, ..., shmem "key id" (line 7), status (line 8)]. */
async function readPidFile(dataDir: string): Promise<string[] | undefined> {
  try {
    return (await readFile(join(dataDir, 'postmaster.pid'), 'utf8')).split('\n');
  } catch {
    return undefined;
  }
}

/** A crashed postmaster leaves its SysV segment behind; remove it before deleting the dir. */
async function removeLeftoverShm(dataDir: string): Promise<void> {
  const id = (await readPidFile(dataDir))?.[6]?.trim().split(/\s+/)[1];
  if (id !== undefined && /^\d+$/.test(id)) await run('ipcrm', ['-m', id]);
}

class PgInstance implements PgServer {
  readonly host = '127.0.0.1';
  readonly user = 'postgres';
  private proc: ServerProcess | undefined;
  private passwordSet: boolean;
  private disposed = false;
  private readonly unregisterDir: () => void;
  private readonly onDispose: (() => Promise<void>) | undefined;

  constructor(
    readonly baseDir: string,
    readonly port: number,
    readonly password: string,
    readonly osUser: OsUser,
    private readonly serverEnv: Record<string, string>,
    opts: { passwordSet: boolean; onDispose?: () => Promise<void> },
  ) {
    this.passwordSet = opts.passwordSet;
    this.onDispose = opts.onDispose;
    this.unregisterDir = removeAtExit(baseDir);
  }

  get dataDir(): string {
    return join(this.baseDir, 'data');
  }
  get socketDir(): string {
    return join(this.baseDir, 'socket');
  }
  get logFile(): string {
    return join(this.baseDir, 'postgres.log');
  }
  get passFile(): string {
    return join(this.baseDir, 'pgpass');
  }
  get running(): boolean {
    return this.proc !== undefined && this.proc.exited === undefined;
  }

  psql(sql: string, database = 'postgres'): Promise<string> {
    return psqlAt(this.socketDir, this.port, sql, database);
  }

  psqlTcp(sql: string, database = 'postgres'): Promise<string> {
    return psqlAt(this.host, this.port, sql, database, { PGPASSFILE: this.passFile });
  }

  async start(): Promise<void> {
    if (this.running) throw new Error(`postgres on port ${this.port} is already running`);
    const proc = new ServerProcess(join(PG_BIN, 'postgres'), ['-D', this.dataDir], {
      user: this.osUser,
      env: this.serverEnv,
      cwd: this.baseDir,
      logFile: this.logFile,
    });
    this.proc = proc;
    try {
      await this.waitReady(proc);
      if (!this.passwordSet) {
        await this.psql(`ALTER ROLE postgres PASSWORD '${this.password}'`);
        this.passwordSet = true;
      }
    } catch (err) {
      await proc.killGroup();
      throw err;
    }
  }

  private async waitReady(proc: ServerProcess): Promise<void> {
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (;;) {
      const exited = proc.exited;
      if (exited !== undefined) {
        const tail = await logTail(this.logFile);
        const msg = `postgres on port ${this.port} (${this.dataDir}) exited during startup (${exited}); log tail:\n${tail}`;
        throw /Address already in use/.test(tail) ? new PortTakenError(msg) : new Error(msg);
      }
      const pidFile = await readPidFile(this.dataDir);
      // Line 1 tells a stale file from a crashed run apart from this postmaster's.
      if (pidFile?.[0] === String(proc.pid)) {
        const status = pidFile[7]?.trim();
        if (status === 'standby') return; // in recovery without hot standby: up, no logins
        if (status === 'ready' && (await this.psql('SELECT 1').catch(() => '')) === '1') return;
      }
      if (Date.now() > deadline) {
        throw new Error(
          `postgres on port ${this.port} not ready after ${START_TIMEOUT_MS} ms; log tail:\n${await logTail(this.logFile)}`,
        );
      }
      await sleep(20);
    }
  }

  async stop(mode: 'fast' | 'immediate' = 'fast'): Promise<void> {
    const proc = this.proc;
    if (proc === undefined || proc.exited !== undefined) return;
    proc.signal(mode === 'fast' ? 'SIGINT' : 'SIGQUIT');
    if (!(await proc.waitExit(60_000))) {
      await proc.killGroup();
      throw new Error(`postgres on port ${this.port} ignored stop -m ${mode}; killed it`);
    }
    await proc.killGroup(); // no-op unless a child outlived the postmaster; also unregisters
  }

  async kill(): Promise<void> {
    const proc = this.proc;
    if (proc === undefined) return;
    await proc.killGroup();
    await waitPortClosed(this.port);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    try {
      if (this.running) {
        this.proc?.signal('SIGQUIT'); // immediate: fast, and the postmaster frees its shmem
        await this.proc?.waitExit(10_000);
      }
      await this.proc?.killGroup();
      await removeLeftoverShm(this.dataDir);
      await this.onDispose?.();
    } finally {
      await rm(this.baseDir, { recursive: true, force: true, maxRetries: 3 });
      this.unregisterDir();
    }
  }
}

async function createInstance(
  prefix: string,
  opts: PgOptions,
  populate: (dataDir: string, user: OsUser) => Promise<void>,
  extra: { password?: string; passLines?: string[]; onDispose?: () => Promise<void> } = {},
): Promise<PgInstance> {
  const user = postgresUser();
  const baseDir = await prepareBase(user, prefix);
  const port = await freePort();
  const password = extra.password ?? randomBytes(18).toString('base64url');
  const pg = new PgInstance(baseDir, port, password, user, pgEnv(opts.env), {
    passwordSet: extra.password !== undefined,
    ...(extra.onDispose === undefined ? {} : { onDispose: extra.onDispose }),
  });
  try {
    await populate(pg.dataDir, user);
    await writeServerConfig(pg.dataDir, port, pg.socketDir, opts);
    const own = `127.0.0.1:${port}:*:postgres:${password}`;
    await writePassFile(pg.passFile, user, [own, ...(extra.passLines ?? [])]);
    if (opts.noStart !== true) await pg.start();
    return pg;
  } catch (err) {
    await pg[Symbol.asyncDispose]();
    throw err;
  }
}

/** Retries on a fresh port when another process took ours between freePort() and bind. */
async function withPortRetry(create: () => Promise<PgInstance>): Promise<PgInstance> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await create();
    } catch (err) {
      if (!(err instanceof PortTakenError) || attempt >= 3) throw err;
    }
  }
}

/** Starts a fresh PostgreSQL 15 server (see the file header); dispose it with `await using`. */
export function startPostgres(opts: PgOptions = {}): Promise<PgServer> {
  return withPortRetry(() =>
    createInstance('lifeboat-pg-', opts, async (dataDir, user) => {
      const tpl = await templateDataDir();
      await runOk('cp', ['-a', tpl, dataDir], { user });
    }),
  );
}

/**
 * A streaming standby of `primary`: pg_basebackup -R -X stream with a new physical slot,
 * started in recovery as a hot standby. Its password is the primary's (roles replicate).
 * Disposal drops the slot on the primary when the primary still runs.
 */
export function startStandby(primary: PgServer, opts: PgOptions = {}): Promise<PgServer> {
  const slot = `lifeboat_standby_${randomBytes(4).toString('hex')}`;
  const primaryPass = `127.0.0.1:${primary.port}:*:postgres:${primary.password}`;
  return withPortRetry(() =>
    createInstance(
      'lifeboat-pg-standby-',
      opts,
      async (dataDir, user) => {
        const args = ['-h', primary.host, '-p', String(primary.port), '-U', 'postgres'];
        args.push('-D', dataDir, '-R', '-X', 'stream', '-C', '-S', slot, '-c', 'fast', '-N');
        await runOk(join(PG_BIN, 'pg_basebackup'), args, {
          user,
          env: pgEnv({ PGPASSFILE: primary.passFile }),
        });
      },
      {
        password: primary.password,
        passLines: [primaryPass],
        onDispose: async () => {
          if (!primary.running) return;
          await primary.psql(`SELECT pg_drop_replication_slot('${slot}')`).catch(() => undefined);
        },
      },
    ),
  );
}

/**
 * An empty place to restore a cluster into: baseDir (owned by postgres) with socketDir made
 * and dataDir not yet existing, plus a free port. Disposal stops whatever postgres runs on
 * dataDir (SIGQUIT to the pid in postmaster.pid, as pg_ctl stop -m immediate does), then
 * removes everything. Servers started there are also SIGKILLed at process exit.
 */
export interface PgRestoreSpot extends AsyncDisposable {
  readonly baseDir: string;
  readonly dataDir: string;
  readonly port: number;
  readonly socketDir: string;
  readonly osUser: OsUser;
  /** psql over socketDir/port as postgres, as PgServer.psql. */
  psql(sql: string, database?: string): Promise<string>;
}

/** The pid in dataDir/postmaster.pid if that process is alive and is the postmaster of dataDir. */
function postmasterOf(dataDir: string): number | undefined {
  try {
    const pid = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    // The postmaster chdirs into its data dir; this guards against a recycled pid.
    if (pid > 0 && readlinkSync(`/proc/${pid}/cwd`) === dataDir) return pid;
  } catch {
    // no pid file, or the process is gone
  }
  return undefined;
}

export async function pgRestoreSpot(): Promise<PgRestoreSpot> {
  const osUser = postgresUser();
  const baseDir = await prepareBase(osUser, 'lifeboat-pg-restore-');
  const dataDir = join(baseDir, 'data');
  const socketDir = join(baseDir, 'socket');
  const port = await freePort();
  const unregisterDir = removeAtExit(baseDir);
  const unregisterKill = atExit('kill', () => {
    const pid = postmasterOf(dataDir);
    if (pid !== undefined) process.kill(pid, 'SIGKILL');
  });
  let disposed = false;
  return {
    baseDir,
    dataDir,
    port,
    socketDir,
    osUser,
    psql: (sql, database = 'postgres') => psqlAt(socketDir, port, sql, database),
    async [Symbol.asyncDispose]() {
      if (disposed) return;
      disposed = true;
      try {
        const pid = postmasterOf(dataDir);
        if (pid !== undefined) {
          process.kill(pid, 'SIGQUIT');
          const deadline = Date.now() + 10_000;
          while (postmasterOf(dataDir) === pid && Date.now() < deadline) await sleep(20);
          if (postmasterOf(dataDir) === pid) process.kill(pid, 'SIGKILL');
          // Backends die with their postmaster; wait for them before removing the dir.
          while (Date.now() < deadline && (pidAlive(pid) || processGroupMembers(pid).length > 0))
            await sleep(20);
        }
        await removeLeftoverShm(dataDir);
      } finally {
        await rm(baseDir, { recursive: true, force: true, maxRetries: 3 });
        unregisterKill();
        unregisterDir();
      }
    },
  };
}

function pidAlive(pid: number): boolean {
  try {
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
  } catch {
    return false;
  }
}
