/**
 * The timed steps of the database benchmark and how one step runs: every contestant on the
 * same input in one repetition, the order rotating from one repetition to the next, so a warm
 * cache or a noisy moment favours no tool systematically. Setup and verification around each
 * run (fresh servers, row counts) are not timed.
 */
export type DbStepId =
  'logical-backup' | 'logical-restore' | 'physical-backup' | 'pitr-latest' | 'pitr-time';

export interface DbStepInfo {
  title: string;
  /** The tool the others are compared with. */
  reference: string;
  /** Issue 3: Lifeboat's wall time at most this many times the reference's. */
  timeTarget: number;
  /** What MiB/s divides: the database, or the whole cluster. */
  bytesOf: string;
  /**
   * Tools that are not contestants but show where Lifeboat's time goes: the dump or tar alone
   * that Lifeboat consumes, or the single pg_restore it feeds.
   */
  diagnostics: readonly string[];
}

export const DUMP_ALONE = 'pg_dump -Fc -Z0 >/dev/null';
export const RESTORE_ONE_JOB = 'pg_restore -j1';
export const BASEBACKUP_ALONE = 'pg_basebackup -Ft >/dev/null';

export const DB_STEPS: Record<DbStepId, DbStepInfo> = {
  'logical-backup': {
    title: 'logical backup of database bench',
    reference: 'pg_dump | restic',
    timeTarget: 1.0,
    bytesOf: 'database size',
    diagnostics: [DUMP_ALONE],
  },
  'logical-restore': {
    title: 'logical restore into a fresh empty server',
    reference: 'pg_restore -j2',
    timeTarget: 1.2,
    bytesOf: 'database size',
    diagnostics: [RESTORE_ONE_JOB],
  },
  'physical-backup': {
    title: 'physical full backup (WAL archived by each tool)',
    reference: 'pgBackRest',
    timeTarget: 1.2,
    bytesOf: 'cluster size',
    diagnostics: [BASEBACKUP_ALONE],
  },
  'pitr-latest': {
    title: 'PITR to the end of the WAL: restore, start, promote, count(*)',
    reference: 'pgBackRest',
    timeTarget: 1.2,
    bytesOf: 'cluster size',
    diagnostics: [],
  },
  'pitr-time': {
    title: 'PITR to a --time mark halfway through the WAL',
    reference: 'pgBackRest',
    timeTarget: 1.2,
    bytesOf: 'cluster size',
    diagnostics: [],
  },
};

/** What one run of one tool measured. */
export interface RunOutcome {
  wallMs: number;
  /** Peak RSS of the largest process of the command (GNU time %M), in bytes. */
  peakRssBytes: number;
  exitCode: number;
  /** Repository (or dump file) size after the run, as `du` counts it; undefined for restores. */
  repoBytes?: number;
  /** Extra facts: bytes added, per-stage RSS, phases of a restore… */
  detail?: Record<string, number | string>;
  /** Observations worth reading that do not make the run fail (e.g. archive_command errors). */
  notes?: string[];
  problems: string[];
}

export interface DbSample extends RunOutcome {
  step: DbStepId;
  tool: string;
  rep: number;
  /** 1 when the tool ran first in its repetition of the step. */
  position: number;
  sourceBytes: number;
}

export interface Contender {
  tool: string;
  run(): Promise<RunOutcome>;
}

/** The order of the contestants in repetition `rep`: rotated by one each time. */
export function rotation<T>(items: readonly T[], rep: number): T[] {
  const k = items.length === 0 ? 0 : rep % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}

const MiB = 1048576;

export function describeRun(s: DbSample): string {
  const mib = (b: number) => (b / MiB).toFixed(0);
  return (
    `  ${s.step.padEnd(16)} ${s.tool.padEnd(18)} ${(s.wallMs / 1000).toFixed(2).padStart(8)} s` +
    `  RSS ${mib(s.peakRssBytes).padStart(5)} MiB` +
    (s.repoBytes === undefined ? '' : `  repo ${mib(s.repoBytes).padStart(6)} MiB`) +
    (s.problems.length ? `  PROBLEM: ${s.problems.join('; ')}` : '')
  );
}

/** Runs every contender once in this repetition's order; a thrown error becomes a problem. */
export async function runStep(
  samples: DbSample[],
  log: (line: string) => void,
  step: DbStepId,
  rep: number,
  sourceBytes: number,
  contenders: readonly Contender[],
): Promise<void> {
  for (const [i, c] of rotation(contenders, rep).entries()) {
    let outcome: RunOutcome;
    try {
      outcome = await c.run();
    } catch (err) {
      outcome = {
        wallMs: NaN,
        peakRssBytes: 0,
        exitCode: -1,
        problems: [`could not run: ${err instanceof Error ? err.message : String(err)}`],
      };
    }
    const sample: DbSample = { step, tool: c.tool, rep, position: i + 1, sourceBytes, ...outcome };
    samples.push(sample);
    log(describeRun(sample));
    for (const note of sample.notes ?? []) log(`    note: ${note}`);
  }
}
