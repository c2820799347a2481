/**
 * Backup and restore of a database service through its engine: the engine's parts become the
 * files of one snapshot (tags service=<name>, kind=<engine>); a restore hands them back, in
 * the order they were produced, to the engine's restore target.
 */
import { LifeboatError } from '../core/errors.js';
import type { Progress } from '../core/ports.js';
import type { RestoreOutcome } from '../engines/engine.js';
import type { DatabaseSource, PlanService } from '../plan/plan.js';
import { backupStreams, type BackupResult } from '../repository/backup.js';
import type { Repository } from '../repository/repository.js';
import { openSnapshotFile } from '../repository/snapshot-file.js';
import { findSnapshot } from '../repository/snapshot.js';
import { serviceTags } from './service-tags.js';
import { dumpSourceFor, restoreTargetFor, type TargetSpec } from './engines.js';

export interface DatabaseJobOptions {
  readonly progress?: Progress;
  readonly signal?: AbortSignal;
}

export async function backupDatabase(
  repo: Repository,
  service: PlanService & { source: DatabaseSource },
  password: string | undefined,
  options: DatabaseJobOptions = {},
): Promise<BackupResult> {
  const { signal } = options;
  const source = dumpSourceFor(service.source, password);
  // Reachability is checked here, before the repository is locked or anything is written.
  const parts = await source.listParts(signal);
  return backupStreams(
    repo,
    parts.map((p) => ({ name: p.name, source: p.open(signal) })),
    {
      tags: serviceTags(service),
      ...(options.progress ? { progress: options.progress } : {}),
      ...(signal ? { signal } : {}),
    },
  );
}

export interface DatabaseRestoreResult extends RestoreOutcome {
  readonly snapshotId: string;
  readonly durationMs: number;
}

export async function restoreDatabase(
  repo: Repository,
  service: PlanService & { source: DatabaseSource },
  sourcePassword: string | undefined,
  spec: TargetSpec,
  snapshotRef: string,
  options: DatabaseJobOptions = {},
): Promise<DatabaseRestoreResult> {
  const started = Date.now();
  const { signal } = options;
  await repo.loadIndex(signal);
  const snap = await findSnapshot(repo, snapshotRef, { tags: serviceTags(service).slice(0, 2) });
  if (!snap.tags?.includes(`service=${service.name}`)) {
    throw new LifeboatError(
      'INVALID_ARGUMENT',
      `snapshot ${snap.id.slice(0, 8)} is not a backup of service ${service.name}`,
    );
  }
  const target = restoreTargetFor(service.source, sourcePassword, spec);
  // The tree sorts names; the snapshot's paths keep the order the engine produced them in.
  const names = snap.paths.map((p) => p.slice(1));
  const outcome = await target.restore(
    names,
    (name, sig) =>
      (async function* () {
        const file = await openSnapshotFile(repo, snap, `/${name}`, sig ?? signal);
        yield* file.content;
      })(),
    signal,
  );
  return { ...outcome, snapshotId: snap.id, durationMs: Date.now() - started };
}
