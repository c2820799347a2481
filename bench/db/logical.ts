/**
 * Issue 3, measurements 1 and 2: logical backup of the pgbench database (Lifeboat's
 * `backup db` against `pg_dump -Fc` to a file and `pg_dump | restic backup --stdin`), then
 * logical restore into a fresh empty server (`lifeboat restore db --to`, with and without
 * `--jobs 2`, against `pg_restore -j2` from the -Fc file). Every repetition starts from fresh
 * repositories; every restore from a fresh server, checked against the source's fingerprint.
 */
import { rmSync, statSync } from 'node:fs';
import type { PgServer } from '../../test/support/postgres.js';
import { dirUsage } from '../fs-utils.js';
import { databaseBytes, fingerprint, startTarget } from './clusters.js';
import type { Commands } from './commands.js';
import { lastLine, lastRecord, mustRun, timed, timedPipeline } from './exec.js';
import type { Profiler } from './profiler.js';
import type { Measurement } from '../measure.js';
import {
  DUMP_ALONE,
  RESTORE_ONE_JOB,
  runStep,
  type Contender,
  type DbSample,
  type RunOutcome,
} from './steps.js';
import type { Workspace } from './workspace.js';

export interface PhaseContext {
  ws: Workspace;
  cmd: Commands;
  samples: DbSample[];
  log: (line: string) => void;
  profiler: Profiler;
}

const num = (v: unknown) => (typeof v === 'number' ? v : 0);

export function lifeboatBackupDetail(stdout: string): Record<string, number> | undefined {
  const r = lastRecord(stdout, (x) => x.type === 'summary' && x.command === 'backup');
  if (!r) return undefined;
  return {
    bytesProcessed: num(r.bytesProcessed),
    bytesAdded: num(r.bytesAdded),
    bytesStored: num(r.bytesStored),
  };
}

export function resticBackupDetail(stdout: string): Record<string, number> | undefined {
  const r = lastRecord(stdout, (x) => x.message_type === 'summary');
  if (!r) return undefined;
  return { bytesProcessed: num(r.total_bytes_processed), bytesAdded: num(r.data_added) };
}

export async function freshRepo(
  ctx: PhaseContext,
  repo: string,
  kind: 'lifeboat' | 'restic',
): Promise<void> {
  rmSync(repo, { recursive: true, force: true });
  const spec = kind === 'lifeboat' ? ctx.cmd.lifeboatInit(repo) : ctx.cmd.resticInit(repo);
  await mustRun(spec, `${kind} init ${repo}`);
}

/** Lifeboat backup of a plan service, with its summary as detail. */
export async function lifeboatBackup(
  ctx: PhaseContext,
  service: string,
  repo: string,
): Promise<RunOutcome> {
  const m = await timed(ctx.cmd.lifeboatBackup(service));
  const detail = lifeboatBackupDetail(m.stdout);
  const problems = m.exitCode === 0 ? [] : [`exit ${String(m.exitCode)}: ${lastLine(m.stderr)}`];
  if (m.exitCode === 0 && !detail) problems.push('no backup summary in the --json output');
  return {
    wallMs: m.wallMs,
    peakRssBytes: m.peakRssBytes,
    exitCode: m.exitCode,
    repoBytes: dirUsage(repo).diskBytes,
    ...(detail ? { detail } : {}),
    problems,
  };
}

/** `pg_dump <db> | restic backup --stdin`: both stages' peaks kept, the larger one reported. */
export async function resticPipelineBackup(
  ctx: PhaseContext,
  source: PgServer,
  db: string,
  repo: string,
): Promise<RunOutcome> {
  const m = await timedPipeline(
    ctx.cmd.pgDumpPlain(source, db),
    ctx.cmd.resticBackupStdin(repo, `${db}.sql`),
  );
  const problems: string[] = [];
  if (m.exitCodes[0] !== 0)
    problems.push(`pg_dump exit ${String(m.exitCodes[0])}: ${lastLine(m.stderr[0])}`);
  if (m.exitCodes[1] !== 0)
    problems.push(`restic exit ${String(m.exitCodes[1])}: ${lastLine(m.stderr[1])}`);
  const detail = resticBackupDetail(m.stdout);
  if (problems.length === 0 && !detail) problems.push('no backup summary in restic --json output');
  return {
    wallMs: m.wallMs,
    peakRssBytes: Math.max(...m.peakRssBytes),
    exitCode: Math.max(...m.exitCodes),
    repoBytes: dirUsage(repo).diskBytes,
    detail: { ...detail, rssPgDump: m.peakRssBytes[0], rssRestic: m.peakRssBytes[1] },
    problems,
  };
}

/** The outcome of a plain timed command: exit status and the last line of stderr on failure. */
export function plain(m: Measurement): RunOutcome {
  return {
    wallMs: m.wallMs,
    peakRssBytes: m.peakRssBytes,
    exitCode: m.exitCode,
    problems: m.exitCode === 0 ? [] : [`exit ${String(m.exitCode)}: ${lastLine(m.stderr)}`],
  };
}

/** Runs a restore into a fresh server and checks the result against the source. */
async function restoreInto(
  run: (target: PgServer) => Promise<RunOutcome>,
  expected: string,
): Promise<RunOutcome> {
  const target = await startTarget();
  try {
    const outcome = await run(target);
    if (outcome.exitCode === 0) {
      const got = await fingerprint(target).catch((e: unknown) => `unreadable: ${String(e)}`);
      if (got !== expected)
        outcome.problems.push(`restored database differs: ${got} (source: ${expected})`);
    }
    return outcome;
  } finally {
    await target[Symbol.asyncDispose]();
  }
}

export async function runLogical(ctx: PhaseContext, source: PgServer, reps: number): Promise<void> {
  const { ws, cmd } = ctx;
  const bytes = await databaseBytes(source, 'bench');
  const expected = await fingerprint(source);
  ctx.log(`logical: database bench is ${(bytes / 1048576).toFixed(0)} MiB (${expected})`);
  for (let rep = 0; rep < reps; rep++) {
    ctx.log(`logical, repetition ${String(rep + 1)} of ${String(reps)}`);
    await freshRepo(ctx, ws.repos.lifeboatLogical, 'lifeboat');
    await freshRepo(ctx, ws.repos.resticLogical, 'restic');
    rmSync(ws.dumpFile, { force: true });
    const backups: Contender[] = [
      {
        tool: 'lifeboat',
        run: () =>
          ctx.profiler.around('logical-backup', () =>
            lifeboatBackup(ctx, 'db', ws.repos.lifeboatLogical),
          ),
      },
      {
        tool: 'pg_dump -Fc',
        async run() {
          const m = await timed(cmd.pgDumpCustom(source, 'bench', ws.dumpFile));
          return {
            wallMs: m.wallMs,
            peakRssBytes: m.peakRssBytes,
            exitCode: m.exitCode,
            repoBytes: m.exitCode === 0 ? statSync(ws.dumpFile).blocks * 512 : 0,
            problems: m.exitCode === 0 ? [] : [`exit ${String(m.exitCode)}: ${lastLine(m.stderr)}`],
          };
        },
      },
      {
        tool: DUMP_ALONE,
        run: async () =>
          plain(await timed({ ...cmd.pgDumpCustomRaw(source, 'bench'), stdoutFile: '/dev/null' })),
      },
      {
        tool: 'pg_dump | restic',
        run: () => resticPipelineBackup(ctx, source, 'bench', ws.repos.resticLogical),
      },
    ];
    await runStep(ctx.samples, ctx.log, 'logical-backup', rep, bytes, backups);

    const lifeboatRestore = (jobs: number | undefined) => (target: PgServer) =>
      ctx.profiler.around('logical-restore', async () => {
        const args = [
          'restore',
          'db',
          '--plan',
          ws.planFile,
          '--to',
          `127.0.0.1:${String(target.port)}`,
        ];
        if (jobs !== undefined) args.push('--jobs', String(jobs));
        const m = await timed(cmd.lifeboat(args, { LIFEBOAT_TARGET_PASSWORD: target.password }));
        return {
          wallMs: m.wallMs,
          peakRssBytes: m.peakRssBytes,
          exitCode: m.exitCode,
          problems: m.exitCode === 0 ? [] : [`exit ${String(m.exitCode)}: ${lastLine(m.stderr)}`],
        };
      });
    const restores: Contender[] = [
      { tool: 'lifeboat', run: () => restoreInto(lifeboatRestore(undefined), expected) },
      { tool: 'lifeboat --jobs 2', run: () => restoreInto(lifeboatRestore(2), expected) },
      ...[2, 1].map((jobs) => ({
        tool: jobs === 2 ? 'pg_restore -j2' : RESTORE_ONE_JOB,
        run: () =>
          restoreInto(
            async (target) => plain(await timed(cmd.pgRestoreJobs(target, ws.dumpFile, jobs))),
            expected,
          ),
      })),
    ];
    await runStep(ctx.samples, ctx.log, 'logical-restore', rep, bytes, restores);
  }
}
