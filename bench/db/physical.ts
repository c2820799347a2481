/**
 * Issue 3, measurement 3: physical backup and point-in-time recovery. Two identical clusters
 * (same pgbench -i), one archiving WAL with `lifeboat wal push` and one with pgBackRest's
 * archive-push, each tool in its production shape and neither paying for the other's
 * archiving. Per repetition: fresh repositories, a full backup with each tool, the same pgbench
 * workload on both clusters (a --time mark halfway), then a restore of each to the end of the
 * WAL and to the mark, into a fresh spot, timed until `count(*)` works on the promoted server;
 * the restored data must match the source's at that point.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pgRestoreSpot, type PgRestoreSpot, type PgServer } from '../../test/support/postgres.js';
import { dirUsage } from '../fs-utils.js';
import {
  archiveAll,
  clusterBytes,
  fingerprint,
  nowSql,
  pgbench,
  watchArchiver,
} from './clusters.js';
import { lastLine, lastRecord, mustRun, timed } from './exec.js';
import { freshRepo, lifeboatBackup, plain, type PhaseContext } from './logical.js';
import { BASEBACKUP_ALONE, runStep, type Contender, type RunOutcome } from './steps.js';
import { ownedDir } from './workspace.js';

interface Marks {
  time: string;
  atMark: string;
  atEnd: string;
}

const elapsed = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;

/** The same pgbench workload on a cluster, with a time mark and the fingerprint at it. */
async function workload(ctx: PhaseContext, pg: PgServer, transactions: number): Promise<Marks> {
  // Two clients, each running a quarter of the transactions per half; commits need not wait
  // for fsync (the WAL is the same either way, and this keeps the untimed part short).
  const perClient = String(Math.max(1, Math.round(transactions / 4)));
  const args = ['-n', '-c', '2', '-j', '2', '-t', perClient];
  const env = { PGOPTIONS: '-c synchronous_commit=off' };
  await pgbench(pg, ctx.cmd, args, env);
  const atMark = await fingerprint(pg);
  await sleep(200);
  const time = await nowSql(pg);
  await sleep(200);
  await pgbench(pg, ctx.cmd, args, env);
  const atEnd = await fingerprint(pg);
  await archiveAll(pg);
  return { time, atMark, atEnd };
}

/** Polls until the server has left recovery, then times SELECT count(*) on the big table. */
async function untilUsable(
  spot: PgRestoreSpot,
  deadlineMs = 600_000,
): Promise<{ waitMs: number; countMs: number }> {
  const t0 = process.hrtime.bigint();
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const inRecovery = await spot.psql('SELECT pg_is_in_recovery()').catch(() => 'no answer');
    if (inRecovery === 'f') break;
    if (Date.now() > deadline) throw new Error(`restored server still in recovery (${inRecovery})`);
    await sleep(20);
  }
  const waitMs = elapsed(t0);
  const t1 = process.hrtime.bigint();
  await spot.psql('SELECT count(*) FROM pgbench_accounts', 'bench');
  return { waitMs, countMs: elapsed(t1) };
}

async function withSpot(
  expected: string,
  run: (spot: PgRestoreSpot) => Promise<RunOutcome>,
): Promise<RunOutcome> {
  const spot = await pgRestoreSpot();
  try {
    const outcome = await run(spot);
    if (outcome.exitCode === 0) {
      const got = await fingerprint(spot).catch((e: unknown) => `unreadable: ${String(e)}`);
      if (got !== expected)
        outcome.problems.push(`restored cluster differs: ${got} (source: ${expected})`);
    }
    return outcome;
  } finally {
    await spot[Symbol.asyncDispose]();
  }
}

function lifeboatPitr(ctx: PhaseContext, expected: string, target: string[]): Contender {
  return {
    tool: 'lifeboat',
    run: () =>
      withSpot(expected, async (spot) => {
        const args = ['restore', 'pgphys', '--plan', ctx.ws.planFile, '--to', spot.dataDir];
        args.push('--port', String(spot.port), '--socket-dir', spot.socketDir, ...target);
        const t0 = process.hrtime.bigint();
        const step = target.length ? 'pitr-time' : 'pitr-latest';
        const m = await ctx.profiler.around(step, () => timed(ctx.cmd.lifeboat(args)));
        if (m.exitCode !== 0) {
          return {
            wallMs: m.wallMs,
            peakRssBytes: m.peakRssBytes,
            exitCode: m.exitCode,
            problems: [`exit ${String(m.exitCode)}: ${lastLine(m.stderr)}`],
          };
        }
        const usable = await untilUsable(spot);
        const summary = lastRecord(m.stdout, (r) => r.type === 'summary');
        const t = (summary?.timings ?? {}) as Record<string, unknown>;
        const ms = (v: unknown) => (typeof v === 'number' ? v : NaN);
        return {
          wallMs: elapsed(t0),
          peakRssBytes: m.peakRssBytes,
          exitCode: 0,
          detail: {
            commandMs: Math.round(m.wallMs),
            extractMs: ms(t.extractMs),
            recoveryMs: ms(t.recoveryMs),
            countMs: Math.round(usable.countMs),
            walFiles: typeof summary?.walFiles === 'number' ? summary.walFiles : NaN,
          },
          problems: [],
        };
      }),
  };
}

function pgbackrestPitr(ctx: PhaseContext, expected: string, target: string[]): Contender {
  return {
    tool: 'pgBackRest',
    run: () =>
      withSpot(expected, async (spot) => {
        await ownedDir(ctx.ws, spot.dataDir); // pgBackRest restores into an existing directory
        const t0 = process.hrtime.bigint();
        const r = await timed(
          ctx.cmd.pgbackrest([
            `--pg1-path=${spot.dataDir}`,
            '--archive-mode=off',
            ...target,
            'restore',
          ]),
        );
        if (r.exitCode !== 0) {
          return {
            wallMs: r.wallMs,
            peakRssBytes: r.peakRssBytes,
            exitCode: r.exitCode,
            problems: [`restore exit ${String(r.exitCode)}: ${lastLine(r.stderr)}`],
          };
        }
        const s = await timed(
          ctx.cmd.pgCtlStart(
            spot.dataDir,
            spot.port,
            spot.socketDir,
            join(spot.baseDir, 'postgres.log'),
          ),
        );
        if (s.exitCode !== 0) {
          return {
            wallMs: elapsed(t0),
            peakRssBytes: r.peakRssBytes,
            exitCode: s.exitCode,
            problems: [`pg_ctl start exit ${String(s.exitCode)}: ${lastLine(s.stderr)}`],
          };
        }
        const usable = await untilUsable(spot);
        return {
          wallMs: elapsed(t0),
          peakRssBytes: Math.max(r.peakRssBytes, s.peakRssBytes),
          exitCode: 0,
          detail: {
            restoreMs: Math.round(r.wallMs),
            pgCtlStartMs: Math.round(s.wallMs),
            promoteWaitMs: Math.round(usable.waitMs),
            countMs: Math.round(usable.countMs),
          },
          problems: [],
        };
      }),
  };
}

/** A new, empty pgBackRest repository with the stanza; its archive_command must be set. */
export async function freshPgbackrest(ctx: PhaseContext): Promise<void> {
  rmSync(ctx.ws.repos.pgbackrest, { recursive: true, force: true });
  await ownedDir(ctx.ws, ctx.ws.repos.pgbackrest);
  await mustRun(ctx.cmd.pgbackrest(['stanza-create']), 'pgbackrest stanza-create');
  // check switches WAL and waits for it in the archive: archive-push works before we time.
  await mustRun(ctx.cmd.pgbackrest(['check']), 'pgbackrest check');
}

async function pgbackrestBackup(ctx: PhaseContext): Promise<RunOutcome> {
  const m = await timed(ctx.cmd.pgbackrest(['--type=full', 'backup']));
  const problems = m.exitCode === 0 ? [] : [`exit ${String(m.exitCode)}: ${lastLine(m.stderr)}`];
  const detail: Record<string, number> = {};
  if (m.exitCode === 0) {
    try {
      const info = JSON.parse(
        await mustRun(ctx.cmd.pgbackrest(['--output=json', 'info']), 'pgbackrest info'),
      ) as {
        backup?: { info?: { size?: number; repository?: { size?: number } } }[];
      }[];
      const last = info[0]?.backup?.at(-1)?.info;
      detail.bytesProcessed = last?.size ?? NaN;
      detail.bytesStored = last?.repository?.size ?? NaN;
    } catch (e) {
      problems.push(`pgbackrest info: ${String(e)}`);
    }
  }
  return {
    wallMs: m.wallMs,
    peakRssBytes: m.peakRssBytes,
    exitCode: m.exitCode,
    repoBytes: dirUsage(ctx.ws.repos.pgbackrest).diskBytes,
    detail,
    problems,
  };
}

/** Adds the source archiver's activity during the run to the outcome. */
async function watched(pg: PgServer, run: () => Promise<RunOutcome>): Promise<RunOutcome> {
  const done = await watchArchiver(pg);
  const outcome = await run();
  const a = await done();
  outcome.detail = { ...outcome.detail, walArchived: a.archived, archiveFailures: a.failed };
  if (a.failures.length) outcome.notes = [...(outcome.notes ?? []), ...a.failures];
  return outcome;
}

export async function runPhysical(
  ctx: PhaseContext,
  lifeboatSource: PgServer,
  pgbackrestSource: PgServer,
  reps: number,
  walTransactions: number,
): Promise<void> {
  const bytes = await clusterBytes(lifeboatSource);
  ctx.log(
    `physical: clusters of ${(bytes / 1048576).toFixed(0)} MiB / ${((await clusterBytes(pgbackrestSource)) / 1048576).toFixed(0)} MiB`,
  );
  for (let rep = 0; rep < reps; rep++) {
    ctx.log(`physical, repetition ${String(rep + 1)} of ${String(reps)}`);
    // Nothing may be on its way into a repository while it is replaced.
    await archiveAll(lifeboatSource);
    await archiveAll(pgbackrestSource);
    await freshRepo(ctx, ctx.ws.repos.lifeboatPhysical, 'lifeboat');
    await freshPgbackrest(ctx);
    await runStep(ctx.samples, ctx.log, 'physical-backup', rep, bytes, [
      {
        tool: 'lifeboat',
        run: () =>
          watched(lifeboatSource, () =>
            ctx.profiler.around('physical-backup', () =>
              lifeboatBackup(ctx, 'pgphys', ctx.ws.repos.lifeboatPhysical),
            ),
          ),
      },
      { tool: 'pgBackRest', run: () => watched(pgbackrestSource, () => pgbackrestBackup(ctx)) },
    ]);
    // After both, so the WAL it makes Lifeboat archive never counts in a measured repository.
    await runStep(ctx.samples, ctx.log, 'physical-backup', rep, bytes, [
      {
        tool: BASEBACKUP_ALONE,
        run: async () =>
          watched(lifeboatSource, async () =>
            plain(
              await timed({ ...ctx.cmd.pgBasebackupTar(lifeboatSource), stdoutFile: '/dev/null' }),
            ),
          ),
      },
    ]);
    ctx.log(
      `  workload: ${String(walTransactions)} pgbench transactions on each cluster, --time mark halfway`,
    );
    const l = await workload(ctx, lifeboatSource, walTransactions);
    const p = await workload(ctx, pgbackrestSource, walTransactions);
    await runStep(ctx.samples, ctx.log, 'pitr-latest', rep, bytes, [
      lifeboatPitr(ctx, l.atEnd, []),
      pgbackrestPitr(ctx, p.atEnd, []),
    ]);
    await runStep(ctx.samples, ctx.log, 'pitr-time', rep, bytes, [
      lifeboatPitr(ctx, l.atMark, ['--time', l.time]),
      pgbackrestPitr(ctx, p.atMark, [
        '--type=time',
        `--target=${p.time}`,
        '--target-action=promote',
      ]),
    ]);
  }
}
