/**
 * A fresh redis-server as a restore target (issue 3). The part `dump.rdb` is written into the
 * target directory, checked with `redis-check-rdb` (a corrupted snapshot fails with INTEGRITY
 * and is not left behind), and a daemonized redis-server is started on it and waited for
 * until it answers and has finished loading.
 *
 * Refuses before writing anything when the directory already holds Redis data (dump.rdb or
 * append-only files: TARGET_NOT_EMPTY, unless `force`) and, always, when something already
 * answers on the port (TARGET_IN_USE: `force` cannot free a port that another server holds).
 * The password goes into a 0600 config file in the directory, never into argv.
 */
import { constants } from 'node:fs';
import { access, chmod, mkdir, open, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { LifeboatError, isLifeboatError } from '../../core/errors.js';
import type { PartReader, RestoreTarget } from '../engine.js';
import { probeTcp } from '../tcp-probe.js';
import { runTool, toolOutput } from '../tool.js';
import { checkHost, checkPort } from '../validate.js';
import { redisCommand, redisTool } from './connection.js';
import { RDB_PART } from './source.js';

export interface RedisTarget {
  /** Data directory of the new server; created (0700) when missing. */
  readonly dir: string;
  readonly port: number;
  /** Address to bind and connect to; default 127.0.0.1. */
  readonly host?: string;
  /** requirepass of the new server (written to a 0600 config file in `dir`). */
  readonly password?: string;
  /** Overwrite Redis data already in `dir`. */
  readonly force?: boolean;
  /** Directory holding redis-server, redis-check-rdb and redis-cli; default: PATH. */
  readonly binDir?: string;
  /** How long to wait for the server to load the snapshot; default 120 s. */
  readonly startTimeoutMs?: number;
}

/** Files of a Redis data directory that mean "this directory already holds data". */
const DATA_FILES = [RDB_PART, 'appendonly.aof', 'appendonlydir'];
export const CONFIG_FILE = 'lifeboat-redis.conf';
export const PID_FILE = 'redis-server.pid';
export const LOG_FILE = 'redis-server.log';
const PARTIAL = `${RDB_PART}.lifeboat-partial`;
/** Without a pid file this long after the start, the server failed before listening. */
const PIDFILE_GRACE_MS = 10_000;

/**
 * A double-quoted value for redis.conf: the parser (sdssplitargs) reads \" \\ and \xHH inside
 * quotes, so every byte outside printable ASCII is written as \xHH and nothing can end the
 * line or the value early.
 */
export function redisConfigString(value: string): string {
  let out = '"';
  for (const byte of Buffer.from(value, 'utf8')) {
    if (byte === 0x22 || byte === 0x5c) out += `\\${String.fromCharCode(byte)}`;
    else if (byte >= 0x20 && byte < 0x7f) out += String.fromCharCode(byte);
    else out += `\\x${byte.toString(16).padStart(2, '0')}`;
  }
  return `${out}"`;
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path, constants.F_OK);
    return true;
  } catch {
    return false;
  }
}

async function writePart(read: PartReader, file: string, signal?: AbortSignal): Promise<void> {
  await rm(file, { force: true });
  const fh = await open(file, 'wx', 0o600);
  try {
    for await (const chunk of read(RDB_PART, signal)) await fh.write(chunk);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** redis-check-rdb prints its findings on stdout; a failure becomes INTEGRITY with them. */
async function checkRdb(tool: string, file: string, signal?: AbortSignal): Promise<void> {
  let report = '';
  try {
    for await (const c of toolOutput(
      { command: tool, args: [file], what: `checking ${RDB_PART}` },
      signal,
    )) {
      report = (report + Buffer.from(c).toString('utf8')).slice(-4096);
    }
  } catch (e) {
    if (isLifeboatError(e, 'TOOL_FAILED') && typeof e.details['exitCode'] === 'number') {
      const lines = report.trim().split('\n').slice(-8).join('\n');
      throw new LifeboatError(
        'INTEGRITY',
        `${RDB_PART} is damaged, redis-check-rdb reports:\n${lines}`,
        {
          cause: e,
        },
      );
    }
    throw e;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function readPid(file: string): Promise<number | undefined> {
  try {
    const pid = Number((await readFile(file, 'utf8')).trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

async function logTail(file: string): Promise<string> {
  try {
    return (await readFile(file, 'utf8')).trim().split('\n').slice(-6).join('\n');
  } catch {
    return '(no log)';
  }
}

export function createRedisTarget(target: RedisTarget, what = 'redis target'): RestoreTarget {
  const host = checkHost(`${what}.host`, target.host ?? '127.0.0.1', false);
  const port = checkPort(`${what}.port`, target.port);
  const dir = resolve(target.dir);
  const at = `${host}:${port}`;
  const conn = {
    host,
    port,
    ...(target.password === undefined ? {} : { password: target.password }),
    ...(target.binDir === undefined ? {} : { binDir: target.binDir }),
  };

  async function waitReady(
    pidFile: string,
    logFile: string,
    signal?: AbortSignal,
  ): Promise<number> {
    const started = Date.now();
    const deadline = started + (target.startTimeoutMs ?? 120_000);
    for (;;) {
      signal?.throwIfAborted();
      const pid = await readPid(pidFile);
      const gone = pid === undefined ? Date.now() - started > PIDFILE_GRACE_MS : !alive(pid);
      if (gone || Date.now() > deadline) {
        const how = gone
          ? 'exited'
          : `did not finish loading within ${target.startTimeoutMs ?? 120_000} ms`;
        throw new LifeboatError(
          'TOOL_FAILED',
          `${what}: redis-server on ${at} ${how}; its log ends:\n${await logTail(logFile)}`,
          {
            details: { dir, port, ...(pid === undefined ? {} : { pid }) },
          },
        );
      }
      if (pid !== undefined) {
        // INFO answers while the dataset loads (PING does not); "loading:0" means done.
        const info = await redisCommand(
          conn,
          ['INFO', 'persistence'],
          `${what}: waiting for redis-server`,
          signal,
        ).catch(() => '');
        if (/^loading:0\r?$/m.test(info)) return pid;
      }
      await sleep(100, undefined, signal ? { signal } : {});
    }
  }

  return {
    kind: 'redis',
    async restore(parts, read, signal) {
      if (parts.length !== 1 || parts[0] !== RDB_PART) {
        throw new LifeboatError(
          'INVALID_ARGUMENT',
          `${what}: a Redis backup has the one part ${RDB_PART}, got ${JSON.stringify(parts)}`,
        );
      }
      // Everything is checked before anything is written.
      const present: string[] = [];
      for (const f of DATA_FILES) if (await exists(join(dir, f))) present.push(f);
      if (present.length > 0 && target.force !== true) {
        throw new LifeboatError(
          'TARGET_NOT_EMPTY',
          `${what}: ${dir} already holds Redis data (${present.join(', ')}); restore elsewhere or set force to replace it`,
          {
            details: { dir, files: present },
          },
        );
      }
      const probe = await probeTcp(host, port, 2000, signal);
      if (probe.open) {
        throw new LifeboatError(
          'TARGET_IN_USE',
          `${what}: something already answers on ${at}; choose a free port`,
          {
            details: { host, port },
          },
        );
      }

      await mkdir(dir, { recursive: true, mode: 0o700 });
      const partial = join(dir, PARTIAL);
      try {
        await writePart(read, partial, signal);
        await checkRdb(redisTool('redis-check-rdb', target.binDir), partial, signal);
        await rename(partial, join(dir, RDB_PART));
      } finally {
        await rm(partial, { force: true });
      }

      const args: string[] = [];
      if (target.password !== undefined) {
        const config = join(dir, CONFIG_FILE);
        await rm(config, { force: true });
        await writeFile(config, `requirepass ${redisConfigString(target.password)}\n`, {
          mode: 0o600,
          flag: 'wx',
        });
        await chmod(config, 0o600);
        args.push(config); // a config file must be redis-server's first argument
      }
      const pidFile = join(dir, PID_FILE);
      const logFile = join(dir, LOG_FILE);
      await rm(pidFile, { force: true });
      args.push(
        '--daemonize',
        'yes',
        '--dir',
        dir,
        '--dbfilename',
        RDB_PART,
        '--port',
        String(port),
        '--bind',
        host,
        '--pidfile',
        pidFile,
        '--logfile',
        logFile,
        '--appendonly',
        'no',
      );
      await runTool(
        {
          command: redisTool('redis-server', target.binDir),
          args,
          cwd: dir,
          what: `${what}: starting redis-server on ${at}`,
        },
        signal ? { signal } : {},
      );
      let pid: number;
      try {
        pid = await waitReady(pidFile, logFile, signal);
      } catch (e) {
        // Never leave a half-started server behind: it would hold the port and the directory.
        const started = await readPid(pidFile);
        if (started !== undefined && alive(started)) process.kill(started, 'SIGKILL');
        throw e;
      }
      return {
        parts: [RDB_PART],
        notes: [
          `started redis-server on ${at} (pid ${pid})`,
          `data directory ${dir}, log ${logFile}`,
        ],
      };
    },
  };
}
