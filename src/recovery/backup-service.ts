/**
 * Backs up the services of a plan: each into its repository, tagged with the service name
 * and the kind of source, so snapshots can be found per service later (restore, drills).
 */
import { LifeboatError } from '../core/errors.js';
import type { Progress } from '../core/ports.js';
import type { Plan, PlanService } from '../plan/plan.js';
import { resolveSecret } from '../plan/secrets.js';
import { backupPaths, type BackupResult } from '../repository/backup.js';
import { backupDatabase } from './database-backup.js';
import { openRepository } from '../repository/open-repository.js';
import type { CompressionMode } from '../repository/zstd.js';
import type { Backend } from '../storage/backend.js';

export interface ServiceBackupOptions {
  openBackend: (location: string) => Backend;
  env?: NodeJS.ProcessEnv;
  compression?: CompressionMode;
  progress?: Progress;
  signal?: AbortSignal;
}

export function serviceTags(service: PlanService): string[] {
  return [`service=${service.name}`, `kind=${service.source.type}`, ...service.tags];
}

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

export async function backupService(
  plan: Plan,
  service: PlanService,
  options: ServiceBackupOptions,
): Promise<BackupResult> {
  const repoSpec = plan.repositories[service.repository]!;
  const password = await resolveSecret(repoSpec.password, options.env);
  const backend = options.openBackend(repoSpec.location.path);
  try {
    const repo = await openRepository(backend, password, {
      ...(options.compression ? { compression: options.compression } : {}),
    });
    const src = service.source;
    if (src.type !== 'directory') {
      const dbPassword = src.password ? await resolveSecret(src.password, options.env) : undefined;
      const job = {
        ...(options.progress ? { progress: options.progress } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
      };
      const db = { ...service, source: src };
      if (src.type === 'postgres' && src.mode === 'physical') {
        const { backupBase } = await import('./postgres/physical-backup.js');
        return await backupBase(repo, { ...db, source: src }, dbPassword, job);
      }
      return await backupDatabase(repo, db, dbPassword, job);
    }
    return await backupPaths(repo, [src.path], {
      tags: serviceTags(service),
      excludes: src.exclude,
      oneFileSystem: src.oneFileSystem,
      ...(options.progress ? { progress: options.progress } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
  } finally {
    await backend.close();
  }
}
