/**
 * Timed commands for the database benchmark. Every contestant runs as the `postgres` OS user
 * (archive_command runs as that user, so repositories and spools must stay its files):
 * `setpriv` switches user and then execs the tool, so GNU time's %M is the tool's own peak
 * RSS (the largest of it and the children it waited for, e.g. Lifeboat's pg_dump). A pipeline
 * (`pg_dump | restic backup --stdin`) runs each stage under its own GNU time, so both peaks
 * are known.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { measure, type CommandSpec, type Measurement } from '../measure.js';

export const GNU_TIME = '/usr/bin/time';
export const SETPRIV = '/usr/bin/setpriv';

export interface RunAs {
  readonly uid: number;
  readonly gid: number;
}

/** Our environment minus anything that could point a tool at another server or repository. */
export function cleanToolEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined || /^(LIFEBOAT_|RESTIC_|PG|BENCH_)/.test(k)) continue;
    env[k] = v;
  }
  return { ...env, LC_ALL: 'C', ...extra };
}

/** `spec` run as `user` through setpriv (which execs: no extra process stays in between). */
export function asUser(user: RunAs, spec: CommandSpec): CommandSpec {
  return {
    ...spec,
    file: SETPRIV,
    args: [
      `--reuid=${String(user.uid)}`,
      `--regid=${String(user.gid)}`,
      '--init-groups',
      spec.file,
      ...spec.args,
    ],
  };
}

/** One command, wall time and peak RSS (GNU time). */
export function timed(spec: CommandSpec): Promise<Measurement> {
  return measure(spec, 'gnu-time');
}

export interface PipelineMeasurement {
  wallMs: number;
  /** Peak RSS of each stage, in bytes. */
  peakRssBytes: [number, number];
  exitCodes: [number, number];
  /** Last 8 KiB of the second stage's stdout. */
  stdout: string;
  /** Last 8 KiB of each stage's stderr. */
  stderr: [string, string];
}

const TAIL = 8192;

function tail(child: ChildProcess, stream: 'stdout' | 'stderr'): () => string {
  let text = '';
  child[stream]?.on('data', (c: Buffer) => {
    text += c.toString('utf8');
    if (text.length > TAIL) text = text.slice(text.length - TAIL);
  });
  return () => text;
}

function exited(child: ChildProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) =>
      resolve(code ?? 128 + (signal ? constants.signals[signal] : 0)),
    );
  });
}

function peakFrom(file: string): number {
  const lines = existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n') : [];
  const kib = Number(lines.at(-1));
  return Number.isFinite(kib) ? kib * 1024 : 0;
}

/** `first | second`, each under GNU time; the wall time runs until both have exited. */
export async function timedPipeline(
  first: CommandSpec,
  second: CommandSpec,
): Promise<PipelineMeasurement> {
  const scratch = mkdtempSync(join(tmpdir(), 'lifeboat-bench-db-'));
  const files = [join(scratch, 'a'), join(scratch, 'b')] as const;
  const wrap = (spec: CommandSpec, out: string): [string, string[]] => [
    GNU_TIME,
    ['-f', '%M', '-o', out, spec.file, ...spec.args],
  ];
  try {
    const started = process.hrtime.bigint();
    const a = spawn(...wrap(first, files[0]), {
      env: first.env,
      cwd: first.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const b = spawn(...wrap(second, files[1]), {
      env: second.env,
      cwd: second.cwd,
      stdio: [a.stdout ?? 'ignore', 'pipe', 'pipe'],
    });
    // Our copy of the pipe's read end must go, or the first stage never sees EPIPE if the
    // second one dies early.
    a.stdout?.destroy();
    const errA = tail(a, 'stderr');
    const errB = tail(b, 'stderr');
    const outB = tail(b, 'stdout');
    const codes = await Promise.all([exited(a), exited(b)]);
    const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
    return {
      wallMs,
      peakRssBytes: [peakFrom(files[0]), peakFrom(files[1])],
      exitCodes: codes,
      stdout: outB(),
      stderr: [errA(), errB()],
    };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** The last line of a command's output, for problem reports. */
export function lastLine(s: string): string {
  return s.trim().split('\n').at(-1) ?? '';
}

/** The last NDJSON record of `stdout` that `accept` takes, or undefined. */
export function lastRecord(
  stdout: string,
  accept: (r: Record<string, unknown>) => boolean,
): Record<string, unknown> | undefined {
  for (const line of stdout.trim().split('\n').reverse()) {
    try {
      const r = JSON.parse(line) as unknown;
      if (r && typeof r === 'object' && accept(r as Record<string, unknown>)) {
        return r as Record<string, unknown>;
      }
    } catch {
      // a line of plain text: keep looking
    }
  }
  return undefined;
}

/** Runs an untimed helper command; resolves with its stdout, throws with its stderr on failure. */
export function mustRun(spec: CommandSpec, what: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(spec.file, [...spec.args], {
      env: spec.env,
      cwd: spec.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err = tail(child, 'stderr');
    child.stdout?.on('data', (c: Buffer) => out.push(c));
    exited(child).then((code) => {
      const stdout = Buffer.concat(out).toString('utf8');
      if (code === 0) resolve(stdout);
      else
        reject(
          new Error(`${what} failed (exit ${String(code)}): ${err().trim() || lastLine(stdout)}`),
        );
    }, reject);
  });
}
