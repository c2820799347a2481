/**
 * Runs one command as a child process and measures its wall time and peak resident set size.
 * Peak RSS comes from GNU time (`/usr/bin/time -f %M`, the kernel's ru_maxrss for the child)
 * when it is installed; otherwise from polling VmHWM in /proc/<pid>/status every 20 ms, which
 * can miss growth in the last few milliseconds before exit.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, closeSync, readFileSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';

const GNU_TIME = '/usr/bin/time';
const TAIL = 8192;

export interface CommandSpec {
  file: string;
  args: readonly string[];
  /** Complete environment of the child (not merged with ours). */
  env: Readonly<Record<string, string>>;
  cwd?: string;
  /** Feed this file on standard input (else stdin is empty). */
  stdinFile?: string;
  /** Write standard output to this file (else it is kept in memory, last 8 KiB only). */
  stdoutFile?: string;
}

export type RssSource = 'gnu-time' | 'proc';

export interface Measurement {
  wallMs: number;
  /** Peak resident set size in bytes; 0 when it could not be measured. */
  peakRssBytes: number;
  rssSource: RssSource;
  /** Exit status, or 128 + signal number when killed by a signal. */
  exitCode: number;
  /** Last 8 KiB of standard output (empty when it went to stdoutFile). */
  stdout: string;
  /** Last 8 KiB of standard error. */
  stderr: string;
}

export function defaultRssSource(): RssSource {
  return existsSync(GNU_TIME) ? 'gnu-time' : 'proc';
}

/** VmHWM ("high water mark" of RSS) of a live process in bytes, or 0 if it is gone. */
async function readVmHwm(pid: number): Promise<number> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const m = /^VmHWM:\s+(\d+) kB/m.exec(status);
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

function keepTail(prev: string, chunk: Buffer): string {
  const s = prev + chunk.toString('utf8');
  return s.length > TAIL ? s.slice(s.length - TAIL) : s;
}

export async function measure(
  spec: CommandSpec,
  rssSource: RssSource = defaultRssSource(),
): Promise<Measurement> {
  const scratch = mkdtempSync(join(tmpdir(), 'lifeboat-bench-'));
  const timeFile = join(scratch, 'time');
  const stdinFd = spec.stdinFile ? openSync(spec.stdinFile, 'r') : 'ignore';
  const stdoutFd = spec.stdoutFile ? openSync(spec.stdoutFile, 'w') : 'pipe';
  try {
    const [file, args] =
      rssSource === 'gnu-time'
        ? [GNU_TIME, ['-f', '%M', '-o', timeFile, spec.file, ...spec.args]]
        : [spec.file, [...spec.args]];
    const started = process.hrtime.bigint();
    const child = spawn(file, args, {
      env: spec.env,
      cwd: spec.cwd,
      stdio: [stdinFd, stdoutFd, 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (c: Buffer) => (stdout = keepTail(stdout, c)));
    child.stderr?.on('data', (c: Buffer) => (stderr = keepTail(stderr, c)));
    let polledPeak = 0;
    let polling: Promise<void> = Promise.resolve();
    const timer =
      rssSource === 'proc' && child.pid !== undefined
        ? setInterval(() => {
            polling = polling
              .then(() => readVmHwm(child.pid!))
              .then((v) => {
                polledPeak = Math.max(polledPeak, v);
              });
          }, 20)
        : undefined;
    const exitCode = await new Promise<number>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (code, signal) => {
        resolve(code ?? 128 + (signal ? constants.signals[signal] : 0));
      });
    });
    const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
    if (timer) clearInterval(timer);
    await polling;
    let peakRssBytes = polledPeak;
    if (rssSource === 'gnu-time') {
      // GNU time writes "Command exited with non-zero status N" before the format on failure.
      const lines = existsSync(timeFile) ? readFileSync(timeFile, 'utf8').trim().split('\n') : [];
      const kib = Number(lines.at(-1));
      peakRssBytes = Number.isFinite(kib) ? kib * 1024 : 0;
    }
    return { wallMs, peakRssBytes, rssSource, exitCode, stdout, stderr };
  } finally {
    if (typeof stdinFd === 'number') closeSync(stdinFd);
    if (typeof stdoutFd === 'number') closeSync(stdoutFd);
    rmSync(scratch, { recursive: true, force: true });
  }
}
