/**
 * Operating-system plumbing for the throwaway test servers: unprivileged users (PostgreSQL
 * refuses to run as root), temp dirs owned by them, one-shot commands, long-running server
 * processes in their own process group, and an exit reaper so a crashed or forgetful test never
 * leaves a server running. Commands are spawned with argument arrays, never through a shell.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { chown, mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export interface OsUser {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
}

/** Looks `name` up in /etc/passwd; throws when the user does not exist. */
export function osUser(name: string): OsUser {
  for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
    const [user, , uid, gid] = line.split(':');
    if (user === name && uid !== undefined && gid !== undefined) {
      return { name, uid: Number(uid), gid: Number(gid) };
    }
  }
  throw new Error(`OS user '${name}' not found in /etc/passwd (is its package installed?)`);
}

/** The `postgres` OS user that the Debian postgresql package creates. */
export function postgresUser(): OsUser {
  return osUser('postgres');
}

/** A fresh mkdtemp dir under os.tmpdir() (mode 0700), chowned to `user` when given. */
export async function tempDirFor(user: OsUser | undefined, prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  if (user !== undefined) await chown(dir, user.uid, user.gid);
  return dir;
}

// Variables that would point a client at another server or supply another password.
const CLIENT_ENV = /^(PG|MYSQL_|MARIADB_|REDISCLI_)/;

/** process.env without client connection variables (PGHOST, MYSQL_PWD…), plus `extra`. */
export function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value !== undefined && !CLIENT_ENV.test(name)) env[name] = value;
  }
  return { ...env, ...extra };
}

export interface RunOptions {
  /** Run as this user (uid/gid); as ourselves when absent. */
  user?: OsUser;
  /** The whole environment; cleanEnv() when absent. */
  env?: Record<string, string>;
  /** Written to stdin, which is then closed. */
  input?: string;
  cwd?: string;
  /** SIGKILL the command after this long (default 60 s). */
  timeoutMs?: number;
}

export interface RunResult {
  stdout: string;
  stderr: string;
  /** Exit code, or 128 + signal number, or -1 when the timeout killed it. */
  code: number;
}

/** Runs a command to completion; never rejects on a non-zero exit (see runOk). */
export function run(
  cmd: string,
  args: readonly string[],
  opts: RunOptions = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      env: opts.env ?? cleanEnv(),
      cwd: opts.cwd ?? '/',
      stdio: ['pipe', 'pipe', 'pipe'],
      ...(opts.user === undefined ? {} : { uid: opts.user.uid, gid: opts.user.gid }),
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, opts.timeoutMs ?? 60_000);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.stdin.on('error', () => undefined); // the command may exit without reading stdin
    child.stdin.end(opts.input);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      const stderr = Buffer.concat(err).toString('utf8');
      resolve({
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: timedOut ? `${stderr}\n(killed after ${opts.timeoutMs ?? 60_000} ms)` : stderr,
        code: timedOut ? -1 : (status ?? 128 + signalNumber(signal)),
      });
    });
  });
}

function signalNumber(signal: NodeJS.Signals | null): number {
  return signal === null
    ? 0
    : ({ SIGKILL: 9, SIGTERM: 15, SIGINT: 2, SIGQUIT: 3 }[signal as string] ?? 0);
}

/** Like run(), but throws with the command's stderr unless it exits 0; resolves with stdout. */
export async function runOk(
  cmd: string,
  args: readonly string[],
  opts: RunOptions = {},
): Promise<string> {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) {
    throw new Error(`${cmd} exited with code ${r.code}: ${r.stderr.trim() || r.stdout.trim()}`);
  }
  return r.stdout;
}

/** The last `lines` lines of a log file, for error messages; never throws. */
export async function logTail(file: string, lines = 30): Promise<string> {
  try {
    return (await readFile(file, 'utf8')).trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

// ---- the exit reaper -------------------------------------------------------------------

type Cleanup = () => void;
const killers = new Set<Cleanup>();
const removers = new Set<Cleanup>();
let hooked = false;

function reap(): void {
  for (const fn of [...killers, ...removers]) {
    try {
      fn();
    } catch {
      // best effort: the process is exiting
    }
  }
  killers.clear();
  removers.clear();
}

function onSignal(signal: NodeJS.Signals): void {
  reap();
  process.removeListener(signal, onSignal);
  process.kill(process.pid, signal);
}

function hook(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', reap);
  // 'exit' does not run when a signal ends the process (e.g. the test runner's timeout).
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(signal, onSignal);
}

/**
 * Registers synchronous cleanup for process exit: 'kill' callbacks run before 'remove'
 * callbacks. Returns a function that unregisters it (call it once the owner cleaned up).
 */
export function atExit(phase: 'kill' | 'remove', fn: Cleanup): () => void {
  hook();
  const set = phase === 'kill' ? killers : removers;
  set.add(fn);
  return () => set.delete(fn);
}

/** Registers removal of `dir` at exit; returns the unregister function. */
export function removeAtExit(dir: string): () => void {
  return atExit('remove', () => rmSync(dir, { recursive: true, force: true, maxRetries: 3 }));
}

// ---- long-running servers ---------------------------------------------------------------

/** Live process ids (not zombies) whose process group is `pgid`, read from /proc. */
export function processGroupMembers(pgid: number): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue; // exited while we looked
    }
    // "pid (comm) state ppid pgrp ...": comm may contain spaces and parentheses.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] !== 'Z' && fields[0] !== 'X' && Number(fields[2]) === pgid) {
      pids.push(Number(name));
    }
  }
  return pids;
}

export interface ServerProcessOptions {
  user?: OsUser;
  env?: Record<string, string>;
  cwd?: string;
  /** stdout and stderr are appended to this file. */
  logFile: string;
  /** Written to stdin, which is then closed (e.g. a config the server reads from stdin). */
  input?: string;
}

/**
 * A server process started in its own process group (so killing it takes its children with
 * it) and registered with the exit reaper until it has been reaped.
 */
export class ServerProcess {
  readonly pid: number;
  private readonly child: ChildProcess;
  private readonly exitPromise: Promise<void>;
  private exitStatus: string | undefined;
  private readonly unregister: () => void;

  constructor(cmd: string, args: readonly string[], opts: ServerProcessOptions) {
    const log = openSync(opts.logFile, 'a');
    try {
      this.child = spawn(cmd, args, {
        env: opts.env ?? cleanEnv(),
        cwd: opts.cwd ?? '/',
        detached: true,
        stdio: [opts.input === undefined ? 'ignore' : 'pipe', log, log],
        ...(opts.user === undefined ? {} : { uid: opts.user.uid, gid: opts.user.gid }),
      });
    } finally {
      closeSync(log);
    }
    if (this.child.pid === undefined) throw new Error(`could not start ${cmd}`);
    this.pid = this.child.pid;
    if (opts.input !== undefined && this.child.stdin !== null) {
      this.child.stdin.on('error', () => undefined);
      this.child.stdin.end(opts.input);
    }
    this.exitPromise = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        this.exitStatus = signal === null ? `exit code ${code}` : `signal ${signal}`;
        resolve();
      });
      this.child.once('error', (e) => {
        this.exitStatus = `spawn error: ${e.message}`;
        resolve();
      });
    });
    // A forgotten server must not keep the test process alive; the reaper kills it at exit.
    this.child.unref();
    const pgid = this.pid;
    this.unregister = atExit('kill', () => {
      process.kill(-pgid, 'SIGKILL');
    });
  }

  /** Whether the leader process has exited, and how ("exit code 1", "signal SIGKILL"). */
  get exited(): string | undefined {
    return this.exitStatus;
  }

  signal(signal: NodeJS.Signals): void {
    if (this.exitStatus !== undefined) return;
    try {
      process.kill(this.pid, signal);
    } catch {
      // already gone
    }
  }

  /** Resolves true when the leader exited within timeoutMs (the timer keeps the loop alive). */
  async waitExit(timeoutMs: number): Promise<boolean> {
    if (this.exitStatus !== undefined) return true;
    const ac = new AbortController();
    const timeout = sleep(timeoutMs, false, { signal: ac.signal }).catch(() => false);
    const result = await Promise.race([this.exitPromise.then(() => true), timeout]);
    ac.abort();
    return result;
  }

  /** SIGKILLs the whole process group and waits until no live member remains. */
  async killGroup(): Promise<void> {
    try {
      process.kill(-this.pid, 'SIGKILL');
    } catch {
      // no member left
    }
    await this.waitExit(10_000);
    const deadline = Date.now() + 10_000;
    while (processGroupMembers(this.pid).length > 0) {
      if (Date.now() > deadline) throw new Error(`process group ${this.pid} survived SIGKILL`);
      await sleep(10);
    }
    this.unregister();
  }

  /** Call once the process and its group are known to be gone (e.g. after a clean stop). */
  reaped(): void {
    this.unregister();
  }
}
