/**
 * Throwaway MariaDB servers for integration tests: `await using db = await startMariadb()`.
 * Each runs mariadbd as root (--user=root) with --no-defaults, so nothing from /etc/mysql
 * (the stock server's socket, datadir, port) applies; it listens on 127.0.0.1 on a free port
 * and on a socket in its own temp dir. mariadb-install-db runs once per test process into a
 * template that each server copies. root gets a random password for socket and TCP logins;
 * clients get it from a defaults file, never argv.
 */
import { randomBytes } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort, waitPortClosed } from './free-port.js';
import { logTail, removeAtExit, run, runOk, ServerProcess, tempDirFor } from './os-user.js';

const MARIADBD = '/usr/sbin/mariadbd';
const START_TIMEOUT_MS = 30_000;

export interface MariaServer extends AsyncDisposable {
  readonly host: string;
  readonly port: number;
  readonly socket: string;
  /** Temp dir holding the data dir, socket, log and defaults file (removed on disposal). */
  readonly baseDir: string;
  readonly dataDir: string;
  /** The server's stdout/stderr (its error log). */
  readonly logFile: string;
  /** 'root' */
  readonly user: string;
  /** Random; root@localhost (socket) and root@127.0.0.1 (TCP) both use it. */
  readonly password: string;
  /**
   * A client option file (0600) with user, password and socket, for
   * `mariadb --defaults-file=…` / `mariadb-dump --defaults-file=…`.
   */
  readonly defaultsFile: string;
  /**
   * Runs SQL (on stdin) with the `mariadb` client in batch mode (-N --raw) over the socket as
   * root; resolves with stdout minus its final newline, throws with stderr on failure.
   */
  sql(sql: string, database?: string): Promise<string>;
  /** Clean shutdown (SIGTERM); waits for the server to exit. */
  stop(): Promise<void>;
  /** Crash: SIGKILL; waits until it died and the port closed. */
  kill(): Promise<void>;
  /** Starts again on the same data dir and port; waits until it answers. */
  start(): Promise<void>;
  readonly running: boolean;
}

export interface MariaOptions {
  /** Extra mariadbd arguments, e.g. ['--log-bin=mysql-bin', '--binlog-format=ROW']. */
  args?: string[];
}

// Small InnoDB sizes: tests start many servers at once.
const SIZE_ARGS = ['--innodb-buffer-pool-size=16M', '--innodb-log-file-size=8M'];

class PortTakenError extends Error {}

let template: Promise<string> | undefined;

/** One mariadb-install-db per test process; servers start from copies. */
function templateDataDir(): Promise<string> {
  template ??= (async () => {
    const dir = await tempDirFor(undefined, 'lifeboat-mariadb-template-');
    removeAtExit(dir);
    const data = join(dir, 'data');
    const args = ['--no-defaults', `--datadir=${data}`, '--user=root', '--skip-test-db'];
    args.push('--auth-root-authentication-method=normal', ...SIZE_ARGS);
    await runOk('mariadb-install-db', args, { cwd: dir });
    return data;
  })();
  template.catch(() => (template = undefined));
  return template;
}

class MariaInstance implements MariaServer {
  readonly host = '127.0.0.1';
  readonly user = 'root';
  private proc: ServerProcess | undefined;
  private passwordSet = false;
  private disposed = false;
  private readonly unregisterDir: () => void;

  constructor(
    readonly baseDir: string,
    readonly port: number,
    readonly password: string,
    private readonly extraArgs: readonly string[],
  ) {
    this.unregisterDir = removeAtExit(baseDir);
  }

  get dataDir(): string {
    return join(this.baseDir, 'data');
  }
  get socket(): string {
    return join(this.baseDir, 'mysqld.sock');
  }
  get logFile(): string {
    return join(this.baseDir, 'mariadbd.log');
  }
  get defaultsFile(): string {
    return join(this.baseDir, 'client.cnf');
  }
  get running(): boolean {
    return this.proc !== undefined && this.proc.exited === undefined;
  }

  async sql(sql: string, database?: string): Promise<string> {
    const args = [`--defaults-file=${this.defaultsFile}`, '--batch', '-N', '--raw'];
    if (database !== undefined) args.push(`--database=${database}`);
    const r = await run('mariadb', args, { input: sql });
    if (r.code !== 0) {
      throw new Error(`mariadb on ${this.socket} failed (exit ${r.code}): ${r.stderr.trim()}`);
    }
    return r.stdout.replace(/\n$/, '');
  }

  private async writeDefaults(): Promise<void> {
    const lines = ['[client]', 'user=root', `socket=${this.socket}`, `port=${this.port}`];
    // Option-file values may be quoted; the password is base64url, so no escaping is needed.
    if (this.passwordSet) lines.push(`password="${this.password}"`);
    await writeFile(this.defaultsFile, lines.join('\n') + '\n', { mode: 0o600 });
  }

  async start(): Promise<void> {
    if (this.running) throw new Error(`mariadbd on port ${this.port} is already running`);
    const args = ['--no-defaults', `--datadir=${this.dataDir}`, `--socket=${this.socket}`];
    args.push(`--port=${this.port}`, '--bind-address=127.0.0.1', '--skip-name-resolve');
    args.push(`--pid-file=${join(this.baseDir, 'mariadbd.pid')}`); // errors go to stderr: logFile
    args.push('--user=root', '--character-set-server=utf8mb4', ...SIZE_ARGS, ...this.extraArgs);
    const proc = new ServerProcess(MARIADBD, args, {
      cwd: this.baseDir,
      logFile: this.logFile,
    });
    this.proc = proc;
    try {
      await this.writeDefaults();
      await this.waitReady(proc);
      if (!this.passwordSet) await this.setPassword();
    } catch (err) {
      await proc.killGroup();
      throw err;
    }
  }

  /** First start: root gets the password everywhere; other root accounts are dropped. */
  private async setPassword(): Promise<void> {
    const pw = `'${this.password}'`;
    await this.sql(
      "DELETE FROM mysql.global_priv WHERE User = 'root' AND Host NOT IN ('localhost', '127.0.0.1');\n" +
        'FLUSH PRIVILEGES;\n' +
        `ALTER USER root@localhost IDENTIFIED BY ${pw};\n` +
        `ALTER USER root@'127.0.0.1' IDENTIFIED BY ${pw};\n`,
    );
    this.passwordSet = true;
    await this.writeDefaults();
  }

  private async waitReady(proc: ServerProcess): Promise<void> {
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (;;) {
      const exited = proc.exited;
      if (exited !== undefined) {
        const tail = await logTail(this.logFile);
        const msg = `mariadbd on port ${this.port} (${this.dataDir}) exited during startup (${exited}); log tail:\n${tail}`;
        throw /Address already in use/.test(tail) ? new PortTakenError(msg) : new Error(msg);
      }
      if ((await this.sql('SELECT 1').catch(() => '')) === '1') return;
      if (Date.now() > deadline) {
        throw new Error(
          `mariadbd on port ${this.port} not ready after ${START_TIMEOUT_MS} ms; log tail:\n${await logTail(this.logFile)}`,
        );
      }
      await sleep(25);
    }
  }

  async stop(): Promise<void> {
    const proc = this.proc;
    if (proc === undefined || proc.exited !== undefined) return;
    proc.signal('SIGTERM');
    if (!(await proc.waitExit(60_000))) {
      await proc.killGroup();
      throw new Error(`mariadbd on port ${this.port} ignored SIGTERM; killed it`);
    }
    await proc.killGroup(); // unregisters from the exit reaper
  }

  async kill(): Promise<void> {
    if (this.proc === undefined) return;
    await this.proc.killGroup();
    await waitPortClosed(this.port);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    try {
      await this.proc?.killGroup(); // throwaway data: no clean shutdown needed
    } finally {
      await rm(this.baseDir, { recursive: true, force: true, maxRetries: 3 });
      this.unregisterDir();
    }
  }
}

async function createInstance(opts: MariaOptions): Promise<MariaInstance> {
  const baseDir = await tempDirFor(undefined, 'lifeboat-mariadb-');
  const db = new MariaInstance(
    baseDir,
    await freePort(),
    randomBytes(18).toString('base64url'),
    opts.args ?? [],
  );
  try {
    await runOk('cp', ['-a', await templateDataDir(), db.dataDir]);
    await db.start();
    return db;
  } catch (err) {
    await db[Symbol.asyncDispose]();
    throw err;
  }
}

/** Starts a fresh MariaDB server (see the file header); dispose it with `await using`. */
export async function startMariadb(opts: MariaOptions = {}): Promise<MariaServer> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await createInstance(opts);
    } catch (err) {
      // Another process took the port between freePort() and bind: try a new one.
      if (!(err instanceof PortTakenError) || attempt >= 3) throw err;
    }
  }
}
