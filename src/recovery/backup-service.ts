/**
 * Backs up the services of a plan: each into its repository, tagged with the service name
 * and the kind of source, so snapshots can be found per service later (restore, drills).
 */
import type { Progress } from '../core/ports.js';
import type { Plan, PlanService } from '../plan/plan.js';
import { resolveSecret } from '../plan/secrets.js';
import { backupPaths, type BackupResult } from '../repository/backup.js';
import { backupDatabase, listDatabaseParts } from './database-backup.js';
import { serviceTags } from './service-tags.js';
import { withServiceRepository, type ServiceRepositoryOptions } from './service-repository.js';

export interface ServiceBackupOptions extends ServiceRepositoryOptions {
  progress?: Progress;
  signal?: AbortSignal;
}

export async function backupService(
  plan: Plan,
  service: PlanService,
  options: ServiceBackupOptions,
): Promise<BackupResult> {
  const src = service.source;
  const job = {
    ...(options.progress ? { progress: options.progress } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  };
  if (src.type === 'directory') {
    return withServiceRepository(plan, service, options, (repo) =>
      backupPaths(repo, [src.path], {
        tags: serviceTags(service),
        excludes: src.exclude,
        oneFileSystem: src.oneFileSystem,
        ...job,
      }),
    );
  }
  const password = src.password ? await resolveSecret(src.password, options.env) : undefined;
  if (src.type === 'postgres' && src.mode === 'physical') {
    const { backupBase } = await import('./postgres/physical-backup.js');
    return withServiceRepository(plan, service, options, (repo) =>
      backupBase(repo, { ...service, source: src }, password, job),
    );
  }
  const db = { ...service, source: src };
  // The server is asked for its databases while the repository opens (key derivation).
  const parts = listDatabaseParts(db, password, options.signal);
  parts.catch(() => undefined);
  return withServiceRepository(plan, service, options, (repo) =>
    backupDatabase(repo, db, parts, job),
  );
}
