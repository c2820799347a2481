/**
 * Follows a server's WAL as it is written, with pg_receivewal, into a local directory that
 * the repository side ships from (issue 3, continuous WAL). Complete segments appear under
 * their plain names; the one being received is "<segment>.partial".
 *
 * The receiver runs with --no-loop by default: when the connection breaks it exits with an
 * error instead of retrying quietly every few seconds, so whoever supervises it sees the
 * outage (the RPO grows while nothing streams), logs it, and restarts with its own backoff.
 * It is spawned directly, not through runTool, because it is stopped with SIGINT, on which
 * pg_receivewal flushes and exits 0 (SIGTERM kills it with status 143).
 */
import { spawn } from 'node:child_process';
import { LifeboatError } from '../../core/errors.js';
import { createPrivateDir, pgpassLine, type PrivateDir } from '../private-dir.js';
import { runTool } from '../tool.js';
import {
  classifyPgFailure,
  compilePgConnection,
  openPgSession,
  pgTool,
  type PgConnection,
  type PgSession,
  type PgSettings,
} from './connection.js';
import { identifySystem, type SystemIdentity } from './identify-system.js';
import { parseLsn, segmentNameForLsn } from './wal-names.js';

/** Physical slot names: what the server accepts (lower-case letters, digits, "_"). */
const SLOT_PATTERN = /^[a-z0-9_]{1,63}$/;

export function checkSlotName(slot: string): string {
  if (!SLOT_PATTERN.test(slot)) {
    throw new LifeboatError(
      'INVALID_ARGUMENT',
      `replication slot ${JSON.stringify(slot.slice(0, 70))}: use 1 to 63 lower-case letters, digits or "_"`,
    );
  }
  return slot;
}

export interface ReceiveWalOptions {
  /** Existing directory, writable by `osUser` (or by us). */
  readonly dir: string;
  /**
   * A physical replication slot: the server keeps WAL until the receiver has it, so a pause
   * loses nothing; but an abandoned slot keeps WAL forever and can fill the server's disk.
   */
  readonly slot?: string;
  /** Create the slot first if it does not exist. */
  readonly createSlot?: boolean;
  /**
   * Flush every write at once and report it, so the server may count this receiver as a
   * synchronous standby (application_name "lifeboat" in synchronous_standby_names): RPO 0.
   */
  readonly synchronous?: boolean;
  /** Keep retrying on connection loss instead of exiting (default false: see the header). */
  readonly loop?: boolean;
  readonly osUser?: { readonly uid: number; readonly gid: number };
  /** Called with the name of each segment pg_receivewal completed. */
  readonly onSegment?: (name: string) => void;
}

export interface WalReceiverExit {
  readonly code: number | null;
  readonly signal: string | null;
  /** True when stop() ended it; otherwise `error` says why it exited. */
  readonly stopped: boolean;
  readonly error?: LifeboatError;
}

export interface WalReceiver {
  readonly pid: number;
  readonly system: SystemIdentity;
  /** Ends the receiver gracefully (SIGINT; SIGKILL after 30 s). Idempotent. */
  stop(): Promise<void>;
  /** Resolves (never rejects) when the receiver exited, for whatever reason. */
  readonly exited: Promise<WalReceiverExit>;
}

/**
 * The session's environment, with its files readable by `owner` when the tool runs as that
 * user: openPgSession keeps them in a directory only we (root) can enter.
 */
async function sessionEnv(
  settings: PgSettings,
  session: PgSession,
  owner: { uid: number; gid: number } | undefined,
): Promise<{ env: Record<string, string>; dir?: PrivateDir }> {
  const env = session.env();
  if (!owner) return { env };
  const dir = await createPrivateDir(owner);
  try {
    const own: Record<string, string> = {
      PGSERVICEFILE: await dir.writeSecret('pg_service.conf', `[${env.PGSERVICE ?? 'lifeboat'}]\n`),
      PGSYSCONFDIR: dir.path,
    };
    if (settings.password !== undefined) {
      const line = pgpassLine({
        ...settings,
        host: '*',
        database: '*',
        password: settings.password,
      });
      own.PGPASSFILE = await dir.writeSecret('pgpass', line);
    }
    return { env: { ...env, ...own }, dir };
  } catch (e) {
    await dir[Symbol.asyncDispose]();
    throw e;
  }
}

/** Creates a physical replication slot unless it exists (pg_receivewal --create-slot --if-not-exists). */
export async function createReplicationSlot(
  conn: PgConnection,
  slot: string,
  signal?: AbortSignal,
): Promise<void> {
  await slotCommand(conn, slot, ['--create-slot', '--if-not-exists'], 'creating', signal);
}

/** Drops a physical replication slot, so the server stops keeping WAL for it. */
export async function dropReplicationSlot(
  conn: PgConnection,
  slot: string,
  signal?: AbortSignal,
): Promise<void> {
  await slotCommand(conn, slot, ['--drop-slot'], 'dropping', signal);
}

async function slotCommand(
  conn: PgConnection,
  slot: string,
  flags: string[],
  verb: string,
  signal?: AbortSignal,
): Promise<void> {
  const settings = compilePgConnection(conn);
  checkSlotName(slot);
  await using session = await openPgSession(settings);
  await runTool(
    {
      command: pgTool(settings, 'pg_receivewal'),
      args: [...flags, `--slot=${slot}`, '-w'],
      env: session.env(),
      what: `${verb} replication slot ${slot} on ${settings.label}`,
      classify: classifyPgFailure,
    },
    signal ? { signal } : {},
  );
}

/**
 * Starts pg_receivewal into `opts.dir` and returns once it runs. Validates first
 * (INVALID_ARGUMENT); throws UNREACHABLE when the server cannot be reached over a replication
 * connection. Later failures are reported through `exited`.
 */
export async function startReceiveWal(
  conn: PgConnection,
  opts: ReceiveWalOptions,
): Promise<WalReceiver> {
  const settings = compilePgConnection(conn);
  if (opts.slot !== undefined) checkSlotName(opts.slot);
  if (!opts.dir.startsWith('/'))
    throw new LifeboatError('INVALID_ARGUMENT', 'receive WAL: dir must be an absolute path');
  if (opts.createSlot === true && opts.slot === undefined) {
    throw new LifeboatError('INVALID_ARGUMENT', 'receive WAL: createSlot needs a slot name');
  }
  const session = await openPgSession(settings);
  let secretDir: PrivateDir | undefined;
  try {
    const system = await identifySystem(settings, session);
    if (opts.createSlot === true && opts.slot !== undefined)
      await createReplicationSlot(conn, opts.slot);
    const prepared = await sessionEnv(settings, session, opts.osUser);
    secretDir = prepared.dir;
    const args = ['-D', opts.dir, '-w', '-v'];
    if (opts.slot !== undefined) args.push(`--slot=${opts.slot}`);
    if (opts.synchronous === true) args.push('--synchronous');
    if (opts.loop !== true) args.push('--no-loop');
    const child = spawn(pgTool(settings, 'pg_receivewal'), args, {
      env: { ...cleanEnv(), ...prepared.env },
      stdio: ['ignore', 'ignore', 'pipe'],
      detached: true,
      ...(opts.osUser ? { uid: opts.osUser.uid, gid: opts.osUser.gid } : {}),
    });
    let stderr = '';
    let stopping = false;
    child.stderr?.setEncoding('utf8');
    let pending = '';
    child.stderr?.on('data', (text: string) => {
      stderr = (stderr + text).slice(-8192);
      pending += text;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        // "pg_receivewal: finished segment at 0/6000000 (timeline 1)": the end of the segment.
        const m = /finished segment at ([0-9A-F]+\/[0-9A-F]+) \(timeline (\d+)\)/.exec(line);
        if (m)
          opts.onSegment?.(
            segmentNameForLsn(Number(m[2]), parseLsn(m[1]!) - 1n, system.walSegmentSize),
          );
      }
    });
    const dirToDispose = secretDir;
    const exited = new Promise<WalReceiverExit>((done) => {
      let ended = false;
      const finish = (
        code: number | null,
        sig: NodeJS.Signals | null,
        spawnError?: Error,
      ): void => {
        if (ended) return;
        ended = true;
        const clean = stopping && (code === 0 || sig !== null);
        const text = stderr.trim().split('\n').slice(-6).join('\n');
        const how = spawnError
          ? `could not run (${spawnError.message})`
          : sig !== null
            ? `was killed by ${sig}`
            : `exited with code ${String(code)}`;
        const error = clean
          ? undefined
          : new LifeboatError(
              classifyPgFailure(stderr) ?? 'TOOL_FAILED',
              `receiving WAL from ${settings.label}: pg_receivewal ${how}${text ? `: ${text}` : ''}`,
              { details: { exitCode: code, signal: sig } },
            );
        const cleanup = [
          session[Symbol.asyncDispose](),
          dirToDispose?.[Symbol.asyncDispose]() ?? Promise.resolve(),
        ];
        void Promise.allSettled(cleanup).then(() => {
          done({ code, signal: sig, stopped: stopping, ...(error ? { error } : {}) });
        });
      };
      // A spawn failure emits 'error' and no 'close'.
      child.once('error', (e) => {
        if (child.pid === undefined) finish(null, null, e);
      });
      child.once('close', (code: number | null, sig: NodeJS.Signals | null) => {
        finish(code, sig);
      });
    });
    if (child.pid === undefined) {
      const exit = await exited;
      throw exit.error ?? new LifeboatError('TOOL_FAILED', 'pg_receivewal did not start');
    }
    const pid = child.pid;
    return {
      pid,
      system,
      exited,
      async stop() {
        if (child.exitCode === null && child.signalCode === null) {
          stopping = true;
          child.kill('SIGINT');
          const timer = setTimeout(() => {
            try {
              process.kill(-pid, 'SIGKILL');
            } catch {
              // already gone
            }
          }, 30_000);
          await exited;
          clearTimeout(timer);
        }
        await exited;
      },
    };
  } catch (e) {
    await session[Symbol.asyncDispose]();
    await secretDir?.[Symbol.asyncDispose]();
    throw e;
  }
}

function cleanEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env))
    if (v !== undefined && !k.startsWith('LIFEBOAT_')) env[k] = v;
  return env;
}
