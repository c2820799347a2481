/**
 * The tags every snapshot of a plan service carries, so snapshots are found per service
 * (restore, drills, `restic snapshots --tag service=<name>`): the service, the kind of
 * source, then the plan's own tags.
 */
import type { PlanService } from '../plan/plan.js';

export function serviceTags(service: PlanService): string[] {
  return [`service=${service.name}`, `kind=${service.source.type}`, ...service.tags];
}
