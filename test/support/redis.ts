/**
 * Throwaway Redis servers for integration tests: `await using r = await startRedis()`.
 * redis-server reads a config file written to its own temp dir (so a password never appears
 * in argv), binds 127.0.0.1 on a free port, and keeps its RDB in that temp dir unless the
 * test points it at an existing directory (`dir`/`dbfilename`) to load a restored RDB file.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort, waitPortClosed } from './free-port.js';
import { cleanEnv, logTail, removeAtExit, run, ServerProcess, tempDirFor } from './os-user.js';

const START_TIMEOUT_MS = 30_000;

export interface RedisServer extends AsyncDisposable {
  readonly host: string;
  readonly port: number;
  /** The data dir (`dir` in redis.conf): opts.dir, or `<baseDir>/data`. */
  readonly dir: string;
  /** Temp dir holding the config, the log and (by default) the data dir; removed on disposal. */
  readonly baseDir: string;
  readonly logFile: string;
  readonly password: string | undefined;
  /**
   * `redis-cli -h 127.0.0.1 -p port <args>` (auth through REDISCLI_AUTH, never argv); resolves
   * with stdout minus its final newline; throws when redis-cli exits non-zero (cannot
   * connect). An error reply (WRONGTYPE…, NOAUTH…) does NOT throw: redis-cli prints it to
   * stdout and exits 0, so assert on the text.
   */
  cli(...args: string[]): Promise<string>;
  /** SIGTERM: Redis saves the RDB if save points are configured (the default), then exits. */
  stop(): Promise<void>;
  /** Crash: SIGKILL, no save; waits until it died and the port closed. */
  kill(): Promise<void>;
  /** Starts again with the same config and port; waits until PING answers. */
  start(): Promise<void>;
  readonly running: boolean;
}

export interface RedisOptions {
  /** requirepass; clients authenticate through REDISCLI_AUTH. */
  password?: string;
  /** An existing data dir (e.g. holding a restored RDB). It is NOT removed on disposal. */
  dir?: string;
  /** RDB file name inside dir (default dump.rdb). */
  dbfilename?: string;
  /** Extra redis-server arguments after the config file, e.g. ['--appendonly', 'yes']. */
  args?: string[];
}

class PortTakenError extends Error {}

/** A redis.conf string value: double-quoted with backslash escapes. */
function quote(value: string): string {
  return `"${value.replace(/[\\"]/g, (c) => `\\${c}`).replace(/\n/g, '\\n')}"`;
}

class RedisInstance implements RedisServer {
  readonly host = '127.0.0.1';
  private proc: ServerProcess | undefined;
  private disposed = false;
  private readonly unregisterDir: () => void;

  constructor(
    readonly baseDir: string,
    readonly port: number,
    readonly dir: string,
    readonly password: string | undefined,
    private readonly extraArgs: readonly string[],
  ) {
    this.unregisterDir = removeAtExit(baseDir);
  }

  get logFile(): string {
    return join(this.baseDir, 'redis.log');
  }
  get configFile(): string {
    return join(this.baseDir, 'redis.conf');
  }
  get running(): boolean {
    return this.proc !== undefined && this.proc.exited === undefined;
  }

  async cli(...args: string[]): Promise<string> {
    const env = cleanEnv(this.password === undefined ? {} : { REDISCLI_AUTH: this.password });
    const r = await run('redis-cli', ['-h', this.host, '-p', String(this.port), ...args], { env });
    if (r.code !== 0) {
      throw new Error(
        `redis-cli ${args.join(' ')} on port ${this.port} failed: ${r.stderr.trim() || r.stdout.trim()}`,
      );
    }
    return r.stdout.replace(/\n$/, '');
  }

  async start(): Promise<void> {
    if (this.running) throw new Error(`redis-server on port ${this.port} is already running`);
    const proc = new ServerProcess('redis-server', [this.configFile, ...this.extraArgs], {
      cwd: this.baseDir,
      logFile: this.logFile,
    });
    this.proc = proc;
    try {
      await this.waitReady(proc);
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
        const msg = `redis-server on port ${this.port} exited during startup (${exited}); log tail:\n${tail}`;
        throw /Address already in use/.test(tail) ? new PortTakenError(msg) : new Error(msg);
      }
      // PING answers LOADING while an RDB is being read; only PONG means ready.
      if ((await this.cli('PING').catch(() => '')) === 'PONG') return;
      if (Date.now() > deadline) {
        throw new Error(
          `redis-server on port ${this.port} not ready after ${START_TIMEOUT_MS} ms; log tail:\n${await logTail(this.logFile)}`,
        );
      }
      await sleep(20);
    }
  }

  async stop(): Promise<void> {
    const proc = this.proc;
    if (proc === undefined || proc.exited !== undefined) return;
    proc.signal('SIGTERM');
    if (!(await proc.waitExit(60_000))) {
      await proc.killGroup();
      throw new Error(`redis-server on port ${this.port} ignored SIGTERM; killed it`);
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
      await this.proc?.killGroup(); // SIGKILL: never overwrites a caller's RDB on the way out
    } finally {
      await rm(this.baseDir, { recursive: true, force: true, maxRetries: 3 });
      this.unregisterDir();
    }
  }
}

async function createInstance(opts: RedisOptions): Promise<RedisInstance> {
  const baseDir = await tempDirFor(undefined, 'lifeboat-redis-');
  const dir = opts.dir ?? join(baseDir, 'data');
  const port = await freePort();
  const r = new RedisInstance(baseDir, port, dir, opts.password, opts.args ?? []);
  try {
    if (opts.dir === undefined) await mkdir(dir, { mode: 0o700 });
    const conf = [
      'bind 127.0.0.1',
      `port ${port}`,
      `dir ${quote(dir)}`,
      `dbfilename ${quote(opts.dbfilename ?? 'dump.rdb')}`,
      'daemonize no',
      'logfile ""',
      'appendonly no',
      ...(opts.password === undefined ? [] : [`requirepass ${quote(opts.password)}`]),
    ];
    await writeFile(r.configFile, conf.join('\n') + '\n', { mode: 0o600 });
    await r.start();
    return r;
  } catch (err) {
    await r[Symbol.asyncDispose]();
    throw err;
  }
}

/** Starts a fresh redis-server (see the file header); dispose it with `await using`. */
export async function startRedis(opts: RedisOptions = {}): Promise<RedisServer> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await createInstance(opts);
    } catch (err) {
      // Another process took the port between freePort() and bind: try a new one.
      if (!(err instanceof PortTakenError) || attempt >= 3) throw err;
    }
  }
}
