import { formatLsn } from '../../engines/postgres/wal-names.js';
import { LifeboatError } from '../../core/errors.js';
import type { Register } from '../command-types.js';
import { withRepository } from '../context.js';
import type { Repository } from '../../repository/repository.js';
import { NAME_PATTERN } from '../../core/identifiers.js';
import type { CliContext } from '../context.js';
import { loadServicePlan, planFileOf, withServiceRepo } from '../service-context.js';
import { alreadyArchivedLine } from '../wal-push-fast.js';
import { formatBytes } from '../output.js';

interface PlanFlag {
  plan?: string;
}

export const registerWal: Register = (program, wrap) => {
  const wal = program
    .command('wal')
    .description('PostgreSQL WAL archiving for services with mode: physical');

  wal
    .command('push')
    .description('store one WAL file in the repository (for archive_command)')
    .argument('<service>', 'the PostgreSQL service of the plan')
    .argument('<file>', 'the WAL file: %p in archive_command')
    .option('--plan <file>', 'the plan (default $LIFEBOAT_PLAN or ./lifeboat.yaml)')
    .option('--no-ahead', 'store only this file, not the others PostgreSQL has ready')
    .addHelpText(
      'after',
      `
In postgresql.conf:
  archive_mode = on
  archive_command = 'lifeboat wal push --plan /etc/lifeboat/lifeboat.yaml db %p'
  archive_timeout = 60s
or, without reading the plan for every segment (faster):
  archive_command = 'LIFEBOAT_PASSWORD_FILE=/etc/lifeboat/pw lifeboat -r /srv/backup wal push db %p'
Exit 0 once the file is durably stored, or when the same bytes are already archived; any
failure, or different bytes under the same name, exits non-zero so PostgreSQL retries.

Files PostgreSQL has marked ready beside it (pg_wal/archive_status/*.ready, at most 8) are
stored in the same run, and marked as stored (their SHA-256, in $TMPDIR/lifeboat-wal-<uid>/):
when the archiver asks for one of them, the call checks the mark and exits at once. This
keeps the archive from falling behind and spares a base backup a second wait at its end.`,
    )
    .action(
      wrap(async (ctx, name, file, flags) => {
        const { plan: planFlag, ahead } = flags as PlanFlag & { ahead: boolean };
        const { pushWalFile, pushAhead, readWalFile } =
          await import('../../recovery/wal/wal-push.js');
        const { aheadSpool, localRepoDir, markSource } =
          await import('../../recovery/wal/wal-ahead.js');
        const { SnapshotCache } = await import('../../recovery/wal/wal-catalog.js');
        const repoFlag = ctx.globals.repo ?? ctx.env.LIFEBOAT_REPOSITORY;
        const service = name as string;
        const path = file as string;
        let source: string | undefined;
        let repoDir: string | undefined;
        let withRepo: <T>(fn: (repo: Repository) => Promise<T>) => Promise<T>;
        if (planFlag === undefined && repoFlag) {
          // Repository mode skips loading the plan (~0.2 s per segment with the YAML parser).
          if (!NAME_PATTERN.test(service)) {
            throw new LifeboatError('INVALID_ARGUMENT', `"${service}" is not a service name`);
          }
          if (ahead) source = await markSource({ repo: repoFlag });
          repoDir = localRepoDir(repoFlag);
          withRepo = (fn) => withRepository(ctx, fn);
        } else {
          // The plan as marks name it is taken before it is read: an edit in between makes
          // the marks of this run ones that no later call trusts, never the other way round.
          if (ahead) source = await markSource({ plan: planFileOf(ctx, planFlag) });
          const found = await physicalService(ctx, planFlag, service);
          repoDir = found.plan.repositories[found.service.repository]!.location.path;
          withRepo = (fn) => withServiceRepo(ctx, found.plan, found.service, fn);
        }
        const data = await readWalFile(path);
        const spool = source === undefined ? undefined : await aheadSpool(path, service);
        const marks = spool && source && repoDir ? { spool, source, repoDir } : undefined;
        // A file an earlier call stored ahead was answered by bin/lifeboat.js (wal-push-fast.ts).
        const done = await withRepo(async (repo) => {
          const cache = new SnapshotCache();
          const own = await pushWalFile(repo, service, path, { data, cache, signal: ctx.signal });
          const more = marks
            ? await pushAhead(repo, service, path, marks, { cache, signal: ctx.signal })
            : undefined;
          return { own, more };
        });
        const r = done.own;
        for (const f of done.more?.failed ?? []) {
          ctx.output.warn(f.name, `not pushed ahead: ${f.message}`);
        }
        const pushed = done.more?.pushed ?? [];
        if (pushed.length > 0) {
          ctx.output.text(
            `also stored ${String(pushed.length)} file(s) PostgreSQL had ready: ${pushed.map((p) => p.name).join(', ')}`,
          );
          for (const p of pushed)
            ctx.output.record('ahead', { command: 'wal push', service, ...p });
        }
        ctx.output.text(
          r.status === 'stored'
            ? `stored ${r.name} (${formatBytes(r.bytes)}) as snapshot ${r.snapshotId.slice(0, 8)}`
            : alreadyArchivedLine(r.name, r.snapshotId),
        );
        ctx.output.record('summary', { command: 'wal push', service, ...r });
      }),
    );

  registerWalStream(wal, wrap);

  wal
    .command('verify')
    .description('report the recoverable window of each base backup and any WAL gap or fork')
    .argument('<service>', 'the PostgreSQL service of the plan')
    .option('--plan <file>', 'the plan (default $LIFEBOAT_PLAN or ./lifeboat.yaml)')
    .addHelpText(
      'after',
      '\nExit 0 when the newest base backup is restorable and its WAL has no gap; 1 otherwise.',
    )
    .action(
      wrap(async (ctx, name, flags) => {
        const { plan, service } = await physicalService(
          ctx,
          (flags as PlanFlag).plan,
          name as string,
        );
        const { loadWalStatus, describeWalStatus } =
          await import('../../recovery/postgres/wal-status.js');
        const status = await withServiceRepo(ctx, plan, service, async (repo) => {
          await repo.loadIndex(ctx.signal);
          return loadWalStatus(repo, service.name, ctx.signal);
        });
        for (const line of describeWalStatus(status)) ctx.output.text(line);
        const newest = status.bases.at(-1);
        const healthy =
          newest !== undefined && newest.consistent && newest.window.gaps.length === 0;
        ctx.output.record('summary', {
          command: 'wal verify',
          service: service.name,
          walFiles: status.catalog.files.size,
          bases: status.bases.map(({ base, window, consistent }) => ({
            snapshotId: base.snapshotId,
            time: base.time,
            startLsn: formatLsn(base.startLsn),
            stopLsn: formatLsn(base.stopLsn),
            consistent,
            timeline: window.timeline,
            lastSegment: window.lastSegment,
            endLsn: formatLsn(window.endLsn),
            endsInPartial: window.endsInPartial,
            gaps: window.gaps,
            forks: window.forks,
          })),
          healthy,
        });
        return healthy ? 0 : 1;
      }),
    );
};

export function registerWalStream(
  wal: ReturnType<Parameters<Register>[0]['command']>,
  wrap: Parameters<Register>[1],
): void {
  wal
    .command('stream')
    .description('follow the server with pg_receivewal and store its WAL as it arrives')
    .argument('<service>', 'the PostgreSQL service of the plan')
    .option('--plan <file>', 'the plan (default $LIFEBOAT_PLAN or ./lifeboat.yaml)')
    .option('--interval <ms>', 'how often the growing segment is stored (the RPO)', '1000')
    .option('--spool <dir>', 'local directory for pg_receivewal (default: the plan, else /var/tmp)')
    .addHelpText(
      'after',
      `
Runs until SIGINT/SIGTERM, then stores what arrived and exits 0. Needs a user with the
REPLICATION attribute and a pg_hba.conf "replication" line; creates the replication slot
(wal.slot in the plan, default "lifeboat") if it does not exist. Drop the slot if you stop
streaming for good, or the server keeps WAL for it forever.`,
    )
    .action(
      wrap(async (ctx, name, flags) => {
        const f = flags as PlanFlag & { interval: string; spool?: string };
        const { plan, service } = await physicalService(ctx, f.plan, name as string);
        const src = service.source;
        if (src.type !== 'postgres') throw new LifeboatError('INTERNAL', 'not postgres');
        const intervalMs = Number(f.interval);
        if (!Number.isInteger(intervalMs) || intervalMs < 100 || intervalMs > 3_600_000) {
          throw new LifeboatError('INVALID_ARGUMENT', '--interval must be 100 to 3600000 ms');
        }
        const { followWal } = await import('../../recovery/postgres/wal-follow.js');
        const { pgConnectionOf } = await import('../../recovery/engines.js');
        const { resolveSecret } = await import('../../plan/secrets.js');
        const password = src.password ? await resolveSecret(src.password, ctx.env) : undefined;
        const spool = f.spool ?? src.wal.spool ?? `/var/tmp/lifeboat-wal/${service.name}`;
        ctx.output.info(`following ${service.name} into ${spool}; Ctrl-C to stop`);
        const r = await withServiceRepo(ctx, plan, service, (repo) =>
          followWal(repo, service.name, pgConnectionOf(src, password), {
            spool,
            slot: src.wal.slot,
            intervalMs,
            signal: ctx.signal,
            onEvent: (e) => {
              if (e.type === 'stored')
                ctx.output.info(`stored ${e.name} (${formatBytes(e.bytes)})`);
              else if (e.type === 'error') ctx.output.warn(e.name, e.message);
              else ctx.output.info(`receiver ${e.state}: ${e.message}`);
              ctx.output.record('event', { ...e, event: e.type });
            },
          }),
        );
        ctx.output.text(
          `stopped: ${String(r.stored)} WAL files and ${String(r.partialsStored)} partial updates stored`,
        );
        ctx.output.record('summary', { command: 'wal stream', service: service.name, ...r });
        return 0;
      }),
    );
}

async function physicalService(ctx: CliContext, planFlag: string | undefined, name: string) {
  const found = await loadServicePlan(ctx, planFlag, name);
  const src = found.service.source;
  if (src.type !== 'postgres' || src.mode !== 'physical') {
    throw new LifeboatError(
      'INVALID_ARGUMENT',
      `service ${name} is not a PostgreSQL service with mode: physical`,
    );
  }
  return found;
}
