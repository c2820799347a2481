/**
 * Helpers for interop tests against the real `restic` binary (0.14+; CI installs it).
 * restic is always spawned with an argument array, never through a shell; the password goes
 * through RESTIC_PASSWORD in the child's environment, never argv; the cache is disabled so
 * nothing is written to the user's home.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { constants as osConstants, tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

const DEFAULT_BINARY = '/usr/bin/restic';
const TIMEOUT_MS = 120_000;

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Path of the restic binary; throws a clear Error when it is not installed. */
export function resticBinary(): string {
  if (isExecutable(DEFAULT_BINARY)) return DEFAULT_BINARY;
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, 'restic');
    if (isExecutable(candidate)) return candidate;
  }
  throw new Error(
    'interop tests need the restic binary (0.14 or later) at /usr/bin/restic or on PATH; ' +
      'install it (e.g. apt-get install restic)',
  );
}

export interface ResticOptions {
  /** Repository location (a local directory for our tests). */
  repo: string;
  password: string;
  cwd?: string;
  /** Written to restic's stdin, then stdin is closed. */
  input?: Buffer | string;
  /** Extra environment variables for restic. */
  env?: Record<string, string>;
}

export interface ResticResult {
  stdout: string;
  /** stdout as bytes, for binary output such as `cat blob` or `dump`. */
  stdoutBytes: Buffer;
  stderr: string;
  code: number;
}

// Inherited variables that would change which repository or password restic uses.
const SCRUBBED = new Set([
  'RESTIC_REPOSITORY',
  'RESTIC_REPOSITORY_FILE',
  'RESTIC_PASSWORD',
  'RESTIC_PASSWORD_FILE',
  'RESTIC_PASSWORD_COMMAND',
  'RESTIC_KEY_HINT',
  'RESTIC_CACHE_DIR',
  'RESTIC_COMPRESSION',
  'RESTIC_PACK_SIZE',
]);

/** Runs `restic <args>` against opts.repo; resolves with the exit code (never rejects on it). */
export async function restic(args: string[], opts: ResticOptions): Promise<ResticResult> {
  const bin = resticBinary();
  const env: Record<string, string | undefined> = {
    ...Object.fromEntries(Object.entries(process.env).filter(([name]) => !SCRUBBED.has(name))),
    ...opts.env,
    RESTIC_REPOSITORY: opts.repo,
    RESTIC_PASSWORD: opts.password,
  };
  const child = spawn(bin, ['--no-cache', ...args], {
    cwd: opts.cwd,
    env,
    stdio: ['pipe', 'pipe', 'pipe'],
    timeout: TIMEOUT_MS,
  });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (b: Buffer) => out.push(b));
  child.stderr.on('data', (b: Buffer) => err.push(b));
  // restic may exit before reading all of stdin; that is its business, not a test failure.
  child.stdin.on('error', () => undefined);
  child.stdin.end(opts.input);
  const code = await new Promise<number>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (status, signal) => {
      resolve(status ?? 128 + (signal === null ? 0 : osConstants.signals[signal]));
    });
  });
  const stdoutBytes = Buffer.concat(out);
  return {
    stdout: stdoutBytes.toString('utf8'),
    stdoutBytes,
    stderr: Buffer.concat(err).toString('utf8'),
    code,
  };
}

/** Like restic(), but throws (with restic's stderr) unless the exit code is 0. */
export async function resticOk(args: string[], opts: ResticOptions): Promise<ResticResult> {
  const r = await restic(args, opts);
  if (r.code !== 0) {
    throw new Error(`restic ${args.join(' ')} exited with code ${r.code}:\n${r.stderr}`);
  }
  return r;
}

/** A temporary directory holding a fresh restic repository in `<dir>/repo`. */
export interface TempResticRepo extends AsyncDisposable {
  dir: string;
  repo: string;
  password: string;
}

/**
 * Creates a temp dir and runs `restic init` in it. Dispose it (`await using`) to remove it.
 * Extra `initArgs` go to `restic init` (e.g. ['--repository-version', '1']).
 */
export async function initResticRepo(
  password: string,
  initArgs: string[] = [],
): Promise<TempResticRepo> {
  const dir = await mkdtemp(join(tmpdir(), 'lifeboat-restic-'));
  const dispose = (): Promise<void> => rm(dir, { recursive: true, force: true });
  try {
    const repo = join(dir, 'repo');
    await resticOk(['init', ...initArgs], { repo, password });
    return { dir, repo, password, [Symbol.asyncDispose]: dispose };
  } catch (err) {
    await dispose();
    throw err;
  }
}
