/**
 * The base backups of a PostgreSQL service in the repository: snapshots tagged
 * `service=<name>` and `kind=postgres-base`, holding `base.tar` (pg_basebackup's tar), with
 * the WAL range they need recorded as tags, so they are listed without reading any tree.
 */
import { isLsn, parseLsn } from '../../engines/postgres/wal-names.js';
import type { StoredSnapshot } from '../../repository/snapshot.js';

export const BASE_KIND_TAG = 'kind=postgres-base';
export const BASE_FILE = 'base.tar';

export interface BaseBackup {
  readonly snapshotId: string;
  readonly time: string;
  readonly startLsn: bigint;
  readonly stopLsn: bigint;
  readonly timeline: number;
  /** When pg_basebackup finished (ms since the epoch), if recorded. */
  readonly stopTime?: number;
}

export function baseBackupTags(info: {
  startLsn: string;
  stopLsn: string;
  timeline: number;
  stopTime: Date;
}): string[] {
  return [
    `start-lsn=${info.startLsn}`,
    `stop-lsn=${info.stopLsn}`,
    `timeline=${String(info.timeline)}`,
    `stop-time=${info.stopTime.toISOString()}`,
  ];
}

function tagValue(s: StoredSnapshot, key: string): string | undefined {
  const prefix = `${key}=`;
  return s.tags?.find((t) => t.startsWith(prefix))?.slice(prefix.length);
}

/** Base backups of the service, oldest first; snapshots with unreadable tags are skipped. */
export function baseBackupsOf(snapshots: readonly StoredSnapshot[], service: string): BaseBackup[] {
  const out: BaseBackup[] = [];
  for (const s of snapshots) {
    const tags = s.tags ?? [];
    if (!tags.includes(BASE_KIND_TAG) || !tags.includes(`service=${service}`)) continue;
    const start = tagValue(s, 'start-lsn');
    const stop = tagValue(s, 'stop-lsn');
    const tli = Number(tagValue(s, 'timeline'));
    if (!start || !stop || !isLsn(start) || !isLsn(stop) || !Number.isInteger(tli) || tli < 1) {
      continue;
    }
    const stopTime = Date.parse(tagValue(s, 'stop-time') ?? '');
    out.push({
      ...(Number.isNaN(stopTime) ? {} : { stopTime }),
      snapshotId: s.id,
      time: s.time,
      startLsn: parseLsn(start),
      stopLsn: parseLsn(stop),
      timeline: tli,
    });
  }
  return out;
}
