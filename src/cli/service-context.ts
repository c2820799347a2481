/**
 * Commands that act on one service of the plan (wal push, wal verify, wal stream, restore
 * --to): find the plan (--plan, LIFEBOAT_PLAN, ./lifeboat.yaml), the service, and open the
 * repository the plan assigns it. PostgreSQL runs archive_command in its data directory, so
 * an archive_command names the plan with --plan or LIFEBOAT_PLAN.
 */
import { existsSync } from 'node:fs';
import { LifeboatError } from '../core/errors.js';
import type { Plan, PlanService } from '../plan/plan.js';
import type { Repository } from '../repository/repository.js';
import type { CliContext } from './context.js';

/** The plan file a command uses: --plan, else LIFEBOAT_PLAN, else ./lifeboat.yaml if present. */
export function planFileFrom(flag: string | undefined, env: NodeJS.ProcessEnv): string | undefined {
  return flag ?? env.LIFEBOAT_PLAN ?? (existsSync('lifeboat.yaml') ? 'lifeboat.yaml' : undefined);
}

export function planFileOf(ctx: CliContext, flag: string | undefined): string {
  const file = planFileFrom(flag, ctx.env);
  if (!file) {
    throw new LifeboatError(
      'INVALID_ARGUMENT',
      'no plan: pass --plan <file>, set LIFEBOAT_PLAN, or run where lifeboat.yaml is',
    );
  }
  return file;
}

export async function loadServicePlan(
  ctx: CliContext,
  flag: string | undefined,
  name: string,
): Promise<{ plan: Plan; service: PlanService }> {
  // Loaded on demand: the plan parser (zod, yaml) costs ~20 MB and ~200 ms at startup.
  const { loadPlan } = await import('../plan/load-plan.js');
  const { selectServices } = await import('../plan/select-services.js');
  const plan = await loadPlan(planFileOf(ctx, flag));
  const [service] = selectServices(plan, [name]);
  return { plan, service: service! };
}

/** Opens the service's repository from the plan, runs fn, closes it. */
export async function withServiceRepo<T>(
  ctx: CliContext,
  plan: Plan,
  service: PlanService,
  fn: (repo: Repository) => Promise<T>,
): Promise<T> {
  const { withServiceRepository } = await import('../recovery/service-repository.js');
  return withServiceRepository(
    plan,
    service,
    { openBackend: (loc) => ctx.backend(loc), env: ctx.env, compression: ctx.compression() },
    async (repo) => {
      const result = await fn(repo);
      for (const e of repo.indexErrors) ctx.output.warn(`index ${e.id}`, `skipped: ${e.message}`);
      return result;
    },
  );
}
