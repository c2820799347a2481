/** Choosing services from a plan (no I/O: cheap to load for per-segment commands). */
import { LifeboatError } from '../core/errors.js';
import type { Plan, PlanService } from './plan.js';

/** Picks the services to run: the named ones (checked), or all, in dependency order. */
export function selectServices(plan: Plan, names: readonly string[]): PlanService[] {
  for (const n of names) {
    if (!(n in plan.services)) {
      const known = Object.keys(plan.services).join(', ');
      throw new LifeboatError(
        'INVALID_ARGUMENT',
        `no service "${n}" in the plan (known: ${known})`,
      );
    }
  }
  return plan.serviceOrder
    .filter((n) => names.length === 0 || names.includes(n))
    .map((n) => plan.services[n]!);
}
