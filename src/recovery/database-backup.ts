/**
 * Backup and restore of a database service through its engine: the engine's parts become the
 * files of one snapshot (tags service=<name>, kind=<engine>); a restore hands them back, in
 * the order they were produced, to the engine's restore target.
 */
import { favourSpeedOverMemory } from './favour-speed.js';
import { LifeboatError } from '../core/errors.js';
import type { Progress } from '../core/ports.js';
import { prime, type Primed } from '../core/concurrency.js';
import type { BackupPart, RestoreOutcome } from '../engines/engine.js';
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

/**
 * Asks the engine for its parts: checks the server answers (before the repository is locked
 * or anything is written) and lists the databases. Independent of the repository, so callers
 * start it while the repository opens.
 */
export function listDatabaseParts(
  service: PlanService & { source: DatabaseSource },
  password: string | undefined,
  signal?: AbortSignal,
): Promise<readonly BackupPart[]> {
  return dumpSourceFor(service.source, password).listParts(signal);
}

/** Parts whose tools start before the repository is locked and its index loaded. */
const PRIMED_PARTS = 2;

export async function backupDatabase(
  repo: Repository,
  service: PlanService & { source: DatabaseSource },
  parts: readonly BackupPart[] | Promise<readonly BackupPart[]>,
  options: DatabaseJobOptions = {},
): Promise<BackupResult> {
  favourSpeedOverMemory();
  const { signal } = options;
  const listed = await parts;
  // The first parts' dump tools start now: connecting, locking tables and reading the catalog
  // overlap the lock and the index load (each blocks on its pipe once it holds ~64 KiB).
  const primed: Primed<Uint8Array>[] = [];
  const streams = listed.map((p, i) => {
    const source = p.open(signal);
    if (i >= PRIMED_PARTS) return { name: p.name, source };
    const early = prime(source);
    primed.push(early);
    return { name: p.name, source: early };
  });
  try {
    return await backupStreams(repo, streams, {
      tags: serviceTags(service),
      ...(options.progress ? { progress: options.progress } : {}),
      ...(signal ? { signal } : {}),
    });
  } finally {
    // A part never read (the job failed before reaching it) must not leave its tool running.
    await Promise.all(primed.map((p) => p.close()));
  }
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
  favourSpeedOverMemory();
  const started = Date.now();
  const { signal } = options;
  // The index loads while the snapshot is found and the target server inspected.
  const indexLoaded = repo.loadIndex(signal);
  indexLoaded.catch(() => undefined);
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
  const open = (name: string, sig: AbortSignal | undefined) =>
    (async function* () {
      await indexLoaded;
      const file = await openSnapshotFile(repo, snap, `/${name}`, sig);
      yield* file.content;
    })();
  // The first parts (the globals, the first database) start reading from the repository
  // now, while the target is inspected and prepared: trees and first blobs are ready when
  // psql and pg_restore ask for them.
  const primed = new Map<string, Primed<Uint8Array>>(
    names.slice(0, PRIMED_PARTS).map((name) => [name, prime(open(name, signal))]),
  );
  let outcome: RestoreOutcome;
  try {
    outcome = await target.restore(
      names,
      (name, sig) => {
        const early = primed.get(name);
        primed.delete(name);
        return early ?? open(name, sig ?? signal);
      },
      signal,
    );
  } finally {
    await Promise.all([...primed.values()].map((p) => p.close()));
  }
  await indexLoaded;
  return { ...outcome, snapshotId: snap.id, durationMs: Date.now() - started };
}
