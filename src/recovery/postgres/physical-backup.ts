/**
 * A physical base backup of a PostgreSQL service: pg_basebackup's tar streamed straight into
 * one snapshot (`/base.tar`, tags service=<name>, kind=postgres-base, and the WAL range it
 * needs), with no copy on local disk. Restorable alone only together with the WAL archive.
 */
import { favourSpeedOverMemory } from '../favour-speed.js';
import { streamBaseBackup } from '../../engines/postgres/basebackup.js';
import { formatLsn } from '../../engines/postgres/wal-names.js';
import type { PlanService, PostgresSource } from '../../plan/plan.js';
import { backupStreams, type BackupResult } from '../../repository/backup.js';
import type { Repository } from '../../repository/repository.js';
import type { DatabaseJobOptions } from '../database-backup.js';
import { pgConnectionOf } from '../engines.js';
import { BASE_FILE, BASE_KIND_TAG, baseBackupTags } from './base-backups.js';

export async function backupBase(
  repo: Repository,
  service: PlanService & { source: PostgresSource },
  password: string | undefined,
  options: DatabaseJobOptions = {},
): Promise<BackupResult> {
  favourSpeedOverMemory();
  const { signal } = options;
  const base = streamBaseBackup(pgConnectionOf(service.source, password), {
    label: `lifeboat ${service.name}`,
    ...(signal ? { signal } : {}),
  });
  return backupStreams(repo, [{ name: BASE_FILE, source: base.stream }], {
    tags: [`service=${service.name}`, BASE_KIND_TAG, ...service.tags],
    tagsAfter: async () => {
      const info = await base.info;
      return baseBackupTags({
        startLsn: formatLsn(info.startLsn),
        stopLsn: formatLsn(info.stopLsn),
        timeline: info.startTimeline,
        stopTime: new Date(),
      });
    },
    ...(options.progress ? { progress: options.progress } : {}),
    ...(signal ? { signal } : {}),
  });
}
