/**
 * Benchmark options: flags first, then BENCH_* environment variables, then defaults.
 * Compiled once into a frozen, validated object; nothing downstream reads argv or env.
 */
import { parseArgs } from 'node:util';
import { LifeboatError } from '../src/core/errors.js';

export interface BenchOptions {
  /** 1 = ~1 GiB tree and ~1 GiB stream. */
  scale: number;
  /** Outer repetitions: fresh repositories, every step. */
  reps: number;
  /** Extra pairs of the cheap steps (unchanged and 1%-changed re-backups) per repetition. */
  smallReps: number;
  seed: string;
  suites: readonly ('tree' | 'stream')[];
  resticBin: string;
  /** RESULTS.md to rewrite; undefined = do not write it. */
  out: string | undefined;
  json: boolean;
  keep: boolean;
  cpuProf: boolean;
  help: boolean;
}

export const USAGE = `Usage: npm run bench -- [options]   (or: node dist/bench/run.js [options])

Lifeboat vs restic on generated data (a file tree and a stdin stream), side by side.

Options (environment variable in brackets):
  --scale <x>        data size factor: 1 = ~1 GiB tree + ~1 GiB stream [BENCH_SCALE] (1)
  --reps <n>         repetitions of every step, fresh repositories each [BENCH_REPS] (2)
  --small-reps <n>   pairs of the re-backup steps per repetition [BENCH_SMALL_REPS] (3)
  --only <suite>     run only "tree" or "stream"
  --seed <text>      seed for the generated data [BENCH_SEED] (lifeboat-bench)
  --restic <path>    restic binary [RESTIC_BIN] (/usr/bin/restic)
  --out <file>       results file to rewrite (bench/RESULTS.md); --no-out to skip it
  --json             print the raw results as JSON on stdout (always saved in bench/work/results.json)
  --keep             keep the generated data and repositories in bench/work/
  --cpu-prof         profile Lifeboat runs (node --cpu-prof) and summarise the hot functions
  -h, --help         this text
`;

function positive(
  name: string,
  raw: string | undefined,
  fallback: number,
  integer: boolean,
): number {
  if (raw === undefined || raw === '') return fallback;
  const v = Number(raw);
  if (!Number.isFinite(v) || v <= 0 || (integer && !Number.isInteger(v))) {
    throw new LifeboatError(
      'INVALID_ARGUMENT',
      `${name} must be a positive ${integer ? 'integer' : 'number'}, not "${raw}"`,
    );
  }
  return v;
}

export function compileOptions(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  defaultOut: string,
): Readonly<BenchOptions> {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    options: {
      scale: { type: 'string' },
      reps: { type: 'string' },
      'small-reps': { type: 'string' },
      only: { type: 'string' },
      seed: { type: 'string' },
      restic: { type: 'string' },
      out: { type: 'string' },
      'no-out': { type: 'boolean' },
      json: { type: 'boolean' },
      keep: { type: 'boolean' },
      'cpu-prof': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const only = values.only;
  if (only !== undefined && only !== 'tree' && only !== 'stream') {
    throw new LifeboatError('INVALID_ARGUMENT', `--only takes "tree" or "stream", not "${only}"`);
  }
  const suites: BenchOptions['suites'] =
    only === 'tree' || only === 'stream' ? [only] : ['tree', 'stream'];
  const scale = positive('--scale', values.scale ?? env.BENCH_SCALE, 1, false);
  if (scale > 16)
    throw new LifeboatError(
      'INVALID_ARGUMENT',
      `--scale ${scale} is over 16 (16 GiB per data set)`,
    );
  return Object.freeze({
    scale,
    reps: positive('--reps', values.reps ?? env.BENCH_REPS, 2, true),
    smallReps: positive('--small-reps', values['small-reps'] ?? env.BENCH_SMALL_REPS, 3, true),
    seed: values.seed ?? env.BENCH_SEED ?? 'lifeboat-bench',
    suites,
    resticBin: values.restic ?? env.RESTIC_BIN ?? '/usr/bin/restic',
    out: values['no-out'] ? undefined : (values.out ?? defaultOut),
    json: values.json ?? false,
    keep: values.keep ?? false,
    cpuProf: values['cpu-prof'] ?? false,
    help: values.help ?? false,
  });
}
