/**
 * `lifeboat restore <service> --to <target>`: a database service from the plan, restored
 * through its engine (logical dumps, Redis RDB) or by point-in-time recovery (PostgreSQL
 * with mode: physical).
 */
import { LifeboatError } from '../../core/errors.js';
import type { RecoveryTarget } from '../../engines/postgres/recovery-config.js';
import type { CliContext } from '../context.js';
import { loadServicePlan, withServiceRepo } from '../service-context.js';

export interface ServiceRestoreFlags {
  to: string;
  plan?: string;
  port?: string;
  user?: string;
  force?: boolean;
  jobs?: string;
  snapshot?: string;
  time?: string;
  lsn?: string;
  xid?: string;
  name?: string;
  exclusive?: boolean;
  osUser?: string;
  socketDir?: string;
}

function targetOf(f: ServiceRestoreFlags): RecoveryTarget {
  const given = [
    f.time === undefined ? undefined : ({ kind: 'time', time: f.time } as const),
    f.lsn === undefined ? undefined : ({ kind: 'lsn', lsn: f.lsn } as const),
    f.xid === undefined ? undefined : ({ kind: 'xid', xid: f.xid } as const),
    f.name === undefined ? undefined : ({ kind: 'name', name: f.name } as const),
  ].filter((t) => t !== undefined);
  if (given.length > 1) {
    throw new LifeboatError('INVALID_ARGUMENT', 'give at most one of --time, --lsn, --xid, --name');
  }
  return given[0] ?? { kind: 'latest' };
}

function intFlag(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) {
    throw new LifeboatError('INVALID_ARGUMENT', `--${name} must be a positive whole number`);
  }
  return n;
}

export async function restoreService(
  ctx: CliContext,
  name: string,
  f: ServiceRestoreFlags,
): Promise<number> {
  const { plan, service } = await loadServicePlan(ctx, f.plan, name);
  const src = service.source;
  if (src.type === 'directory') {
    throw new LifeboatError(
      'INVALID_ARGUMENT',
      `service ${name} is a directory: restore it with \`lifeboat restore <snapshot> --target <dir>\``,
    );
  }
  const { resolveSecret } = await import('../../plan/secrets.js');
  const password = src.password ? await resolveSecret(src.password, ctx.env) : undefined;
  const target = targetOf(f);
  const port = intFlag('port', f.port);
  const jobs = intFlag('jobs', f.jobs);
  if (src.type === 'postgres' && src.mode === 'physical') {
    const { restorePitr } = await import('../../recovery/postgres/physical-restore.js');
    const { serverUser } = await import('../../engines/os-user.js');
    const { newestBinDir } = await import('../../engines/postgres/connection.js');
    const binDir = src.binDir ?? newestBinDir();
    if (!binDir) {
      throw new LifeboatError(
        'TOOL_FAILED',
        'no PostgreSQL server binaries found: set binDir in the plan',
      );
    }
    const osUser = serverUser(f.osUser);
    const r = await withServiceRepo(ctx, plan, service, (repo) =>
      restorePitr(repo, service.name, {
        dataDir: f.to,
        port: port ?? 5432,
        target,
        ...(f.exclusive ? { inclusive: false } : {}),
        ...(f.snapshot ? { base: f.snapshot } : {}),
        force: f.force ?? false,
        binDir,
        ...(osUser ? { osUser } : {}),
        ...(f.socketDir ? { socketDir: f.socketDir } : {}),
        signal: ctx.signal,
        onStep: (s) => {
          ctx.output.info(s);
        },
      }),
    );
    const t = r.timings;
    ctx.output.text(
      `restored ${service.name} into ${f.to}: PostgreSQL (pid ${String(r.pid)}) is promoted and accepts connections on port ${String(r.port)}` +
        `\n  base ${r.baseSnapshot.slice(0, 8)}, ${String(r.walFiles)} WAL files; ${r.recovery.stoppedAt ?? 'replayed all archived WAL'}` +
        (r.recovery.lastTransactionTime
          ? `\n  last transaction: ${r.recovery.lastTransactionTime}`
          : '') +
        `\n  extract ${(t.extractMs / 1000).toFixed(1)} s, recovery ${(t.recoveryMs / 1000).toFixed(1)} s, total ${(t.totalMs / 1000).toFixed(1)} s; log ${r.logFile}`,
    );
    ctx.output.record('summary', { command: 'restore', service: service.name, target, ...r });
    return 0;
  }
  if (target.kind !== 'latest') {
    throw new LifeboatError(
      'INVALID_ARGUMENT',
      `--time/--lsn/--xid/--name need a PostgreSQL service with mode: physical; ${name} is ${src.type}${src.type === 'postgres' ? ' (logical)' : ''}`,
    );
  }
  const { restoreDatabase } = await import('../../recovery/database-backup.js');
  const r = await withServiceRepo(ctx, plan, service, (repo) =>
    restoreDatabase(
      repo,
      { ...service, source: src },
      password,
      {
        to: f.to,
        ...(port === undefined ? {} : { port }),
        ...(f.user ? { user: f.user } : {}),
        ...(ctx.env.LIFEBOAT_TARGET_PASSWORD ? { password: ctx.env.LIFEBOAT_TARGET_PASSWORD } : {}),
        force: f.force ?? false,
        ...(jobs === undefined ? {} : { jobs }),
      },
      f.snapshot ?? 'latest',
      { signal: ctx.signal },
    ),
  );
  for (const note of r.notes) ctx.output.info(note);
  ctx.output.text(
    `restored ${service.name} from snapshot ${r.snapshotId.slice(0, 8)} into ${f.to}: ${r.parts.join(', ')} in ${(r.durationMs / 1000).toFixed(1)} s`,
  );
  ctx.output.record('summary', { command: 'restore', service: service.name, ...r });
  return 0;
}
