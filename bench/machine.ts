/**
 * What both benchmarks record about the run: the machine, and the command line that
 * reproduces it (as `npm run <script> -- …` when started through npm).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism, loadavg, release, totalmem } from 'node:os';

/** A command's trimmed stdout, or undefined when it fails or is missing. */
export function commandOutput(file: string, args: string[]): string | undefined {
  try {
    return execFileSync(file, args, {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return undefined;
  }
}

function cpuModel(): string {
  try {
    return (
      /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? 'unknown CPU'
    );
  } catch {
    return 'unknown CPU';
  }
}

export interface MachineInfo {
  nproc: number;
  cpu: string;
  memGiB: number;
  kernel: string;
  loadStart: number[];
  loadEnd: number[];
}

/** The machine now; `loadStart` is the load average taken when the run began. */
export function machineInfo(loadStart: number[]): MachineInfo {
  return {
    nproc: availableParallelism(),
    cpu: cpuModel(),
    memGiB: Math.round(totalmem() / 1024 ** 3),
    kernel: release(),
    loadStart,
    loadEnd: loadavg(),
  };
}

/** `npm run <script> -- args` under npm, else `node <entry> args`, shell-quoted. */
export function commandLine(argv: readonly string[], script: string, entry: string): string {
  const args = argv.map((a) => (/^[\w./=:,-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`));
  return process.env.npm_lifecycle_event === script
    ? `npm run ${script}${args.length ? ` -- ${args.join(' ')}` : ''}`
    : `node ${entry} ${args.join(' ')}`.trim();
}
