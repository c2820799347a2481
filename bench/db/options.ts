/**
 * Options of the database benchmark (`node dist/bench/db/run.js`): flags, then BENCH_DB_*
 * environment variables, then defaults; `--quick` swaps in small defaults for a smoke test.
 * Compiled once into a frozen object, so nothing downstream reads argv or env.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { LifeboatError } from '../../src/core/errors.js';

export const PHASES = ['logical', 'physical', 'dedup'] as const;
export type Phase = (typeof PHASES)[number];

export interface DbBenchOptions {
  /** pgbench -i scale of the benchmark database (50 = ~750 MiB). */
  scale: number;
  /** Repetitions of every timed step, each with fresh repositories. */
  reps: number;
  /** Rows of the time-ordered events table of the deduplication test. */
  eventsRows: number;
  /** Duration of the uniform-update pgbench run before the last deduplication backup. */
  pgbenchSeconds: number;
  /** pgbench transactions between a base backup and the PITR restores (half before the --time mark). */
  walTransactions: number;
  phases: readonly Phase[];
  quick: boolean;
  /** Results file to rewrite; undefined = do not write one. */
  out: string | undefined;
  json: boolean;
  keep: boolean;
  cpuProf: boolean;
  /** The Lifeboat checkout to measure (built: dist/src); default this one. */
  lifeboatRoot: string;
  /** Re-render the report from this results file instead of running anything. */
  fromJson: string | undefined;
  help: boolean;
}

export const USAGE = `Usage: node dist/bench/db/run.js [options]

Lifeboat against pg_dump, restic and pgBackRest on a PostgreSQL cluster that the benchmark
initialises with pgbench and starts itself (issue 3).

Options (environment variable in brackets, default in parentheses; --quick defaults second):
  --quick                 smoke test: scale 5, 1 repetition, small deduplication tables
  --scale <n>             pgbench scale of the database [BENCH_DB_SCALE] (50 / 5)
  --reps <n>              repetitions of every timed step [BENCH_DB_REPS] (3 / 1)
  --events-rows <n>       rows of the time-ordered table of the dedup test (3000000 / 300000)
  --pgbench-seconds <n>   pgbench -T before the last dedup backup (30 / 5)
  --wal-transactions <n>  pgbench transactions replayed by the PITR restores (20000 / 2000)
  --only <phases>         comma list of logical, physical, dedup (all)
  --out <file>            results file to rewrite (bench/RESULTS-databases.md); --no-out to skip
  --json                  print the raw results as JSON on stdout
  --keep                  keep the work directory (clusters' data, repositories) at the end
  --cpu-prof              profile the Lifeboat runs (node --cpu-prof) and summarise them
  --lifeboat <dir>        measure the build in another checkout (default: this one), for A/B runs
  --from-json <file>      only re-render the report from a results file (bench/work/db-results.json)
  -h, --help              this text
`;

function positiveInt(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined || raw === '') return fallback;
  const v = Number(raw);
  if (!Number.isSafeInteger(v) || v <= 0) {
    throw new LifeboatError(
      'INVALID_ARGUMENT',
      `${name} must be a positive whole number, not "${raw}"`,
    );
  }
  return v;
}

function parsePhases(raw: string | undefined): readonly Phase[] {
  if (raw === undefined) return PHASES;
  const wanted = raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const bad = wanted.filter((p) => !(PHASES as readonly string[]).includes(p));
  if (wanted.length === 0 || bad.length > 0) {
    throw new LifeboatError(
      'INVALID_ARGUMENT',
      `--only takes a comma list of ${PHASES.join(', ')}, not "${raw}"`,
    );
  }
  return PHASES.filter((p) => wanted.includes(p));
}

export function compileDbOptions(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  defaults: { out: string; lifeboat: string },
): Readonly<DbBenchOptions> {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    options: {
      quick: { type: 'boolean' },
      scale: { type: 'string' },
      reps: { type: 'string' },
      'events-rows': { type: 'string' },
      'pgbench-seconds': { type: 'string' },
      'wal-transactions': { type: 'string' },
      only: { type: 'string' },
      out: { type: 'string' },
      'no-out': { type: 'boolean' },
      json: { type: 'boolean' },
      keep: { type: 'boolean' },
      'cpu-prof': { type: 'boolean' },
      'from-json': { type: 'string' },
      lifeboat: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const quick = values.quick ?? false;
  const scale = positiveInt('--scale', values.scale ?? env.BENCH_DB_SCALE, quick ? 5 : 50);
  if (scale > 1000) {
    throw new LifeboatError('INVALID_ARGUMENT', `--scale ${scale} is over 1000 (~15 GB)`);
  }
  return Object.freeze({
    scale,
    reps: positiveInt('--reps', values.reps ?? env.BENCH_DB_REPS, quick ? 1 : 3),
    eventsRows: positiveInt('--events-rows', values['events-rows'], quick ? 300_000 : 3_000_000),
    pgbenchSeconds: positiveInt('--pgbench-seconds', values['pgbench-seconds'], quick ? 5 : 30),
    walTransactions: positiveInt(
      '--wal-transactions',
      values['wal-transactions'],
      quick ? 2_000 : 20_000,
    ),
    phases: parsePhases(values.only),
    quick,
    out: values['no-out'] ? undefined : (values.out ?? defaults.out),
    json: values.json ?? false,
    keep: values.keep ?? false,
    cpuProf: values['cpu-prof'] ?? false,
    lifeboatRoot: resolve(values.lifeboat ?? defaults.lifeboat),
    fromJson: values['from-json'],
    help: values.help ?? false,
  });
}
