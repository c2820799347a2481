/**
 * Runs external tools (pg_dump, mariadb, redis-cli…) the way every engine needs: argument
 * arrays, never a shell; a child environment without Lifeboat's own secrets; stdout as a
 * back-pressured stream; failure judged by the exit status, with the tail of stderr in the
 * error. Stopping early or aborting kills the tool.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { LifeboatError, type ErrorCode } from '../core/errors.js';

export interface ToolCommand {
  readonly command: string;
  readonly args: readonly string[];
  /** Added to the inherited environment (minus LIFEBOAT_* variables). */
  readonly env?: Readonly<Record<string, string>>;
  readonly cwd?: string;
  /** Run as this user/group (only when we are root, e.g. PostgreSQL as `postgres`). */
  readonly uid?: number;
  readonly gid?: number;
  /** What the tool is doing, for errors: "pg_dump of database app". */
  readonly what: string;
  /** Maps a failure to a more precise code (e.g. UNREACHABLE for "connection refused"). */
  readonly classify?: (stderr: string, exitCode: number | null) => ErrorCode | undefined;
}

export interface ToolResult {
  readonly stdout: string;
  readonly stderr: string;
}

const STDERR_KEEP = 8192;

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  error?: Error;
}

interface Started {
  child: ChildProcess;
  exited: Promise<Exit>;
  stderr: () => string;
}

function childEnv(extra: Readonly<Record<string, string>> | undefined): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    // The repository password must never reach a database tool (or its core dumps).
    if (!k.startsWith('LIFEBOAT_')) env[k] = v;
  }
  return { ...env, ...extra };
}

function start(cmd: ToolCommand, stdin: 'ignore' | 'pipe', signal?: AbortSignal): Started {
  signal?.throwIfAborted();
  const child = spawn(cmd.command, [...cmd.args], {
    env: childEnv(cmd.env),
    stdio: [stdin, 'pipe', 'pipe'],
    ...(cmd.cwd === undefined ? {} : { cwd: cmd.cwd }),
    ...(cmd.uid === undefined ? {} : { uid: cmd.uid }),
    ...(cmd.gid === undefined ? {} : { gid: cmd.gid }),
    // Own process group, so a kill also reaches the tool's children (pg_dumpall runs pg_dump)
    // and no grandchild keeps the pipes open after we gave up.
    detached: true,
  });
  const onAbort = () => {
    kill(child);
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  let tail = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (s: string) => {
    tail = (tail + s).slice(-STDERR_KEEP);
  });
  const exited = new Promise<Exit>((done) => {
    let error: Error | undefined;
    child.once('error', (e) => {
      error = e;
      // A spawn failure emits no 'close'; a kill via the signal does.
      if (child.pid === undefined) done({ code: null, signal: null, error: e });
    });
    child.once('exit', (_code, sig) => {
      // Killed: do not wait for descendants that may still hold stdout open.
      if (sig !== null) {
        child.stdout?.destroy();
        child.stderr?.destroy();
      }
    });
    child.once('close', (code, sig) => {
      signal?.removeEventListener('abort', onAbort);
      done({ code, signal: sig, ...(error ? { error } : {}) });
    });
  });
  return { child, exited, stderr: () => tail };
}

function failure(
  cmd: ToolCommand,
  exit: Exit,
  stderr: string,
  signal?: AbortSignal,
): LifeboatError {
  if (signal?.aborted) return new LifeboatError('CANCELLED', `${cmd.what}: cancelled`);
  const err = exit.error as NodeJS.ErrnoException | undefined;
  if (err?.code === 'ENOENT') {
    return new LifeboatError(
      'TOOL_FAILED',
      `${cmd.what}: ${cmd.command} is not installed or not on PATH`,
      {
        details: { tool: cmd.command },
      },
    );
  }
  const how =
    exit.signal !== null
      ? `was killed by ${exit.signal}`
      : exit.code !== null
        ? `exited with code ${String(exit.code)}`
        : `could not run (${err?.message ?? 'unknown error'})`;
  const text = stderr.trim();
  const code = cmd.classify?.(text, exit.code) ?? 'TOOL_FAILED';
  return new LifeboatError(
    code,
    `${cmd.what}: ${cmd.command} ${how}${text ? `: ${lastLines(text, 6)}` : ''}`,
    { details: { tool: cmd.command, exitCode: exit.code, signal: exit.signal } },
  );
}

function lastLines(text: string, n: number): string {
  return text.split('\n').slice(-n).join('\n');
}

function ok(exit: Exit): boolean {
  return exit.code === 0 && exit.signal === null && exit.error === undefined;
}

function kill(child: ChildProcess): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    child.kill('SIGKILL');
  }
}

/**
 * Yields the tool's stdout. Completes normally only after the tool exited with status 0;
 * otherwise throws (TOOL_FAILED unless `classify` says better). Leaving the loop early kills it.
 */
export async function* toolOutput(
  cmd: ToolCommand,
  signal?: AbortSignal,
): AsyncGenerator<Uint8Array> {
  const s = start(cmd, 'ignore', signal);
  let finished = false;
  try {
    const out = s.child.stdout;
    if (!out) throw new LifeboatError('INTERNAL', `${cmd.what}: no stdout`);
    try {
      for await (const chunk of out as AsyncIterable<Buffer>) yield chunk;
    } catch (e) {
      // A read error on the pipe is secondary to the tool's own exit status.
      if (!s.child.killed) throw e;
    }
    const exit = await s.exited;
    if (!ok(exit)) throw failure(cmd, exit, s.stderr(), signal);
    finished = true;
  } finally {
    if (!finished) kill(s.child);
  }
}

/**
 * Runs the tool to completion, feeding `input` (bytes or text) to its stdin when given, and
 * returns its output (stdout capped at `maxStdout` characters). Throws on any failure; if
 * reading `input` fails, the tool is killed and that error is thrown.
 */
export async function runTool(
  cmd: ToolCommand,
  options: {
    input?: AsyncIterable<Uint8Array> | string;
    signal?: AbortSignal;
    maxStdout?: number;
  } = {},
): Promise<ToolResult> {
  const { input, signal } = options;
  const max = options.maxStdout ?? 1 << 20;
  const s = start(cmd, input === undefined ? 'ignore' : 'pipe', signal);
  let stdout = '';
  s.child.stdout?.setEncoding('utf8');
  s.child.stdout?.on('data', (t: string) => {
    if (stdout.length < max) stdout += t.slice(0, max - stdout.length);
  });
  let inputError: unknown;
  if (input !== undefined && s.child.stdin) {
    const stdin = s.child.stdin;
    const source =
      typeof input === 'string' ? Readable.from([Buffer.from(input)]) : Readable.from(input);
    await pipeline(source, stdin).catch((e: unknown) => {
      const code = (e as NodeJS.ErrnoException).code;
      // EPIPE: the tool exited before reading everything; its exit status tells why.
      if (code !== 'EPIPE' && code !== 'ERR_STREAM_PREMATURE_CLOSE') {
        inputError = e;
        kill(s.child);
      }
    });
  }
  const exit = await s.exited;
  if (inputError !== undefined) {
    throw inputError instanceof Error
      ? inputError
      : new Error('reading the input failed', { cause: inputError });
  }
  if (!ok(exit)) throw failure(cmd, exit, s.stderr(), signal);
  return { stdout, stderr: s.stderr() };
}
