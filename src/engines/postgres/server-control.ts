/**
 * Starts, watches and stops a PostgreSQL server on a restored data directory (issue 3, PITR).
 *
 * The postmaster is spawned directly with an argument array rather than through `pg_ctl
 * start`, whose -o string goes through a shell. Command-line settings hold only for this run:
 * the server logs to our log file in English (logging_collector off, lc_messages C), whatever
 * production's config says, so a failed recovery can be read and classified.
 *
 * Promotion is judged without logging in: the restored pg_hba.conf is production's and may
 * demand a password we do not have. Recovery is over when the server has removed
 * recovery.signal and pg_control says "in production"; pg_isready (a ping that counts an
 * authentication failure as "up") then says logins are accepted.
 */
import { spawn } from 'node:child_process';
import { access, open, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { LifeboatError } from '../../core/errors.js';
import { runTool } from '../tool.js';
import { checkPort } from '../validate.js';
import { classifyRecoveryLog, recoveryFacts, type RecoveryFacts } from './recovery-log.js';

export interface ProcessOwner {
  readonly uid: number;
  readonly gid: number;
}

export interface StartOptions {
  /** Directory of postgres, pg_ctl, pg_controldata, pg_isready. */
  readonly binDir: string;
  readonly port: number;
  /** unix_socket_directories for this run; must exist and be writable by the server's user. */
  readonly socketDir: string;
  /** Appended to; the server's whole output goes here. */
  readonly logFile: string;
  /** Run as this user; by default the data directory's owner when we are root. */
  readonly osUser?: ProcessOwner;
  /** Extra environment for the server and so for restore_command (LIFEBOAT_* are not inherited). */
  readonly env?: Readonly<Record<string, string>>;
  /** How long the postmaster may take to create postmaster.pid (default 60 s). */
  readonly startTimeoutMs?: number;
  readonly signal?: AbortSignal;
}

/** A server started by startServer. It outlives this process unless stopped. */
export interface StartedServer {
  readonly dataDir: string;
  readonly pid: number;
  readonly port: number;
  readonly socketDir: string;
  readonly binDir: string;
  readonly logFile: string;
  /** Size of logFile before the start: this run's output begins here. */
  readonly logOffset: number;
  readonly osUser: ProcessOwner | undefined;
}

/**
 * The pid of the postmaster that postmaster.pid names when that process is alive, else null.
 * A recycled pid reads as "running": wrongly refusing a target is better than writing into a
 * live cluster (PostgreSQL's own lock-file check errs the same way).
 */
export async function isRunning(dataDir: string): Promise<number | null> {
  let first: string | undefined;
  try {
    first = (await readFile(join(dataDir, 'postmaster.pid'), 'utf8')).split('\n')[0];
  } catch {
    return null;
  }
  const pid = Number(first?.trim());
  if (!Number.isInteger(pid) || pid <= 0) return null;
  try {
    process.kill(pid, 0);
    return pid;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM' ? pid : null;
  }
}

/** The user to run server tools as: given, or the data directory's owner when we are root. */
async function runAs(
  dataDir: string,
  osUser: ProcessOwner | undefined,
): Promise<ProcessOwner | undefined> {
  if (osUser || process.getuid?.() !== 0) return osUser;
  const st = await stat(dataDir);
  return { uid: st.uid, gid: st.gid };
}

function serverEnv(extra: Readonly<Record<string, string>> | undefined): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('LIFEBOAT_')) env[k] = v;
  return { ...env, ...extra };
}

/** This run's part of the log (at most the last 64 KiB). */
export async function readLogSince(logFile: string, offset: number): Promise<string> {
  const fh = await open(logFile, 'r');
  try {
    const size = (await fh.stat()).size;
    const start = Math.max(offset, size - 65536);
    const buf = Buffer.alloc(Math.max(0, size - start));
    await fh.read(buf, 0, buf.length, start);
    return buf.toString('utf8');
  } finally {
    await fh.close();
  }
}

/**
 * Starts the postmaster on `dataDir` and returns once it has claimed the directory
 * (postmaster.pid names it). Recovery, if armed, goes on in the background: follow it with
 * waitUntilPromoted. Throws TARGET_IN_USE when a server already runs there, and TOOL_FAILED
 * (with the log tail) when the postmaster exits first, e.g. on a config error.
 */
export async function startServer(dataDir: string, opts: StartOptions): Promise<StartedServer> {
  checkPort('port', opts.port);
  if (!opts.socketDir.startsWith('/') || /[,'"\\\p{Cc}]/u.test(opts.socketDir)) {
    throw new LifeboatError(
      'INVALID_ARGUMENT',
      `socket directory ${JSON.stringify(opts.socketDir)} is not usable`,
    );
  }
  const running = await isRunning(dataDir);
  if (running !== null) {
    throw new LifeboatError(
      'TARGET_IN_USE',
      `a server (pid ${String(running)}) already runs on ${dataDir}`,
    );
  }
  const user = await runAs(dataDir, opts.osUser);
  const log = await open(opts.logFile, 'a', 0o640);
  let exit: string | undefined;
  let pid: number | undefined;
  let logOffset = 0;
  try {
    logOffset = (await log.stat()).size;
    if (user && logOffset === 0) await log.chown(user.uid, user.gid);
    const args = ['-D', dataDir, '-p', String(opts.port), '-k', opts.socketDir];
    // The log is how recovery is followed (recovery-log.ts, waitUntilPromoted): in English,
    // on stderr, and with LOG lines whatever production's log_min_messages says.
    const logging = ['logging_collector=off', 'log_destination=stderr', 'lc_messages=C'];
    for (const s of [...logging, 'log_min_messages=warning']) args.push('-c', s);
    const child = spawn(join(opts.binDir, 'postgres'), args, {
      stdio: ['ignore', log.fd, log.fd],
      env: serverEnv(opts.env),
      cwd: dataDir,
      detached: true, // its own session: our terminal's ^C must not reach the restored server
      ...(user ? { uid: user.uid, gid: user.gid } : {}),
    });
    child.once('error', (e) => (exit = e.message));
    child.once(
      'exit',
      (code, sig) => (exit = sig !== null ? `killed by ${sig}` : `exit code ${String(code)}`),
    );
    child.unref();
    pid = child.pid;
  } finally {
    await log.close();
  }
  const deadline = Date.now() + (opts.startTimeoutMs ?? 60_000);
  for (;;) {
    if (pid !== undefined && (await isRunning(dataDir)) === pid) break;
    if (exit !== undefined || pid === undefined || opts.signal?.aborted || Date.now() > deadline) {
      if (pid !== undefined && exit === undefined) process.kill(pid, 'SIGQUIT');
      if (opts.signal?.aborted)
        throw new LifeboatError('CANCELLED', `starting the server on ${dataDir}: cancelled`);
      const why =
        exit ??
        (pid === undefined ? 'could not be started' : 'did not create postmaster.pid in time');
      const tail = await readLogSince(opts.logFile, logOffset).catch(() => '');
      throw new LifeboatError(
        'TOOL_FAILED',
        `postgres on ${dataDir} ${why}: ${lastLines(tail, 8)}`,
        {
          details: { dataDir, logFile: opts.logFile },
        },
      );
    }
    await sleep(50);
  }
  return {
    dataDir,
    pid,
    port: opts.port,
    socketDir: opts.socketDir,
    binDir: opts.binDir,
    logFile: opts.logFile,
    logOffset,
    osUser: user,
  };
}

function lastLines(text: string, n: number): string {
  return text.trimEnd().split('\n').slice(-n).join('\n');
}

/** "in production", "in archive recovery", "shut down"…, from pg_controldata (C locale). */
async function clusterState(server: StartedServer): Promise<string | undefined> {
  const { stdout } = await runTool({
    command: join(server.binDir, 'pg_controldata'),
    args: ['-D', server.dataDir],
    env: { LC_ALL: 'C' },
    ...(server.osUser ? { uid: server.osUser.uid, gid: server.osUser.gid } : {}),
    what: `reading the control file of ${server.dataDir}`,
  });
  return /^Database cluster state:\s+(.+)$/m.exec(stdout)?.[1]?.trim();
}

async function acceptsConnections(server: StartedServer): Promise<boolean> {
  try {
    await runTool({
      command: join(server.binDir, 'pg_isready'),
      args: ['-h', server.socketDir, '-p', String(server.port), '-t', '5'],
      what: `pinging the server on ${server.dataDir}`,
    });
    return true;
  } catch {
    return false;
  }
}

/**
 * Waits until the server started on a restored data directory has finished recovery, promoted
 * and accepts connections; returns what its log says about where recovery stopped. If the
 * server exits first, throws WAL_GAP when the archived WAL did not reach the target or the
 * backup's end, INVALID_ARGUMENT when the target lies inside the base backup, TOOL_FAILED
 * otherwise (each with the log tail). On timeout throws TOOL_FAILED and leaves it running.
 */
export async function waitUntilPromoted(
  server: StartedServer,
  opts: {
    timeoutMs?: number;
    pollMs?: number;
    signal?: AbortSignal;
    /**
     * The recovery settings say pause at the target (recovery-config.ts): ask the server to
     * promote as soon as it replays (`pg_ctl promote` needs it in archive recovery). In
     * archive recovery the server looks at a promotion request only where it pauses, so it
     * still replays up to the target, then promotes there at once, without the
     * end-of-recovery checkpoint that recovery_target_action = promote waits for (0.6-0.7 s
     * on the bench's cluster; the checkpoint runs in the background instead). A request made
     * only once it has paused would wait up to 1 s: the pause sleeps in 1 s steps.
     */
    promoteAtTarget?: boolean;
  } = {},
): Promise<RecoveryFacts> {
  const timeoutMs = opts.timeoutMs ?? 6 * 3600_000;
  const deadline = Date.now() + timeoutMs;
  let promotedAt: number | undefined;
  let promoteFailures = 0;
  for (;;) {
    if (opts.signal?.aborted)
      throw new LifeboatError('CANCELLED', `waiting for ${server.dataDir}: cancelled`);
    if ((await isRunning(server.dataDir)) !== server.pid) {
      throw classifyRecoveryLog(
        await readLogSince(server.logFile, server.logOffset),
        server.dataDir,
      );
    }
    // pg_control copied from the base backup already says "in production" until the startup
    // process rewrites it, and a hot standby accepts connections long before replay ends; the
    // server removes recovery.signal only when archive recovery is over, so ask for all three,
    // the cheap one first: the tools run only once the signal files are gone.
    const recovering =
      (await exists(join(server.dataDir, 'recovery.signal'))) ||
      (await exists(join(server.dataDir, 'standby.signal')));
    if (recovering && opts.promoteAtTarget) {
      const log = await readLogSince(server.logFile, server.logOffset);
      const paused = /LOG:\s+(pausing at the end of recovery|recovery has paused)$/m.test(log);
      if (/because of insufficient parameter settings/.test(log)) {
        // Hot standby checks max_connections & co. against the primary's (PostgreSQL 14+
        // then pauses and refuses to promote); the server is left running, paused.
        throw new LifeboatError(
          'TOOL_FAILED',
          `${server.dataDir}: PostgreSQL cannot promote: the primary raised max_connections, max_worker_processes, max_wal_senders, max_prepared_transactions or max_locks_per_transaction after the base backup; set them at least as high in ${server.dataDir}/postgresql.auto.conf and restart it (pid ${String(server.pid)}, left running). ${lastLines(log, 4)}`,
          { details: { dataDir: server.dataDir, pid: server.pid, logFile: server.logFile } },
        );
      }
      // A request is lost if the server had not claimed the directory yet; send it again
      // when it pauses without having heard one.
      if (promotedAt !== undefined && paused && Date.now() - promotedAt > 2000) {
        if (!/LOG:\s+received promote request$/m.test(log)) promotedAt = undefined;
      }
      if (promotedAt === undefined && (paused || /LOG:\s+redo starts at /.test(log))) {
        // Refused while the control file does not say "in archive recovery" yet: next poll.
        try {
          await promote(server);
          promotedAt = Date.now();
        } catch (e) {
          if (++promoteFailures >= 40) throw e;
        }
      }
    }
    const state = recovering
      ? 'in archive recovery'
      : await clusterState(server).catch(() => undefined);
    if (state === 'in production' && (await acceptsConnections(server))) {
      return recoveryFacts(await readLogSince(server.logFile, server.logOffset));
    }
    if (Date.now() > deadline) {
      throw new LifeboatError(
        'TOOL_FAILED',
        `${server.dataDir}: recovery not finished after ${String(timeoutMs)} ms (state: ${state ?? 'unknown'}); the server is left running`,
        { retryable: true, details: { dataDir: server.dataDir, pid: server.pid } },
      );
    }
    await sleep(opts.pollMs ?? 50);
  }
}

/** `pg_ctl promote` without waiting (the caller polls for the end of recovery). */
async function promote(server: StartedServer): Promise<void> {
  await runTool({
    command: join(server.binDir, 'pg_ctl'),
    args: ['promote', '-D', server.dataDir, '--no-wait'],
    env: { LC_ALL: 'C' },
    ...(server.osUser ? { uid: server.osUser.uid, gid: server.osUser.gid } : {}),
    what: `promoting the server on ${server.dataDir}`,
  });
}

/**
 * Stops the server on `dataDir` with `pg_ctl stop -m mode` and waits for it to go. Does
 * nothing when none runs. Throws TOOL_FAILED when it does not stop within `timeoutSeconds`.
 */
export async function stopServer(
  dataDir: string,
  mode: 'smart' | 'fast' | 'immediate',
  opts: { binDir: string; osUser?: ProcessOwner; timeoutSeconds?: number; signal?: AbortSignal },
): Promise<void> {
  if ((await isRunning(dataDir)) === null) return;
  const user = await runAs(dataDir, opts.osUser);
  await runTool(
    {
      command: join(opts.binDir, 'pg_ctl'),
      args: ['stop', '-D', dataDir, '-m', mode, '-w', '-t', String(opts.timeoutSeconds ?? 60)],
      env: { LC_ALL: 'C' },
      ...(user ? { uid: user.uid, gid: user.gid } : {}),
      what: `stopping the server on ${dataDir}`,
    },
    opts.signal ? { signal: opts.signal } : {},
  );
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
