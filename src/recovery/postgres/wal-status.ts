/**
 * Everything a PITR restore or `lifeboat wal verify` needs to know about a service: its base
 * backups, its archived WAL, the timeline histories, and for each base backup how far its WAL
 * reaches without a gap.
 */
import {
  formatLsn,
  isHistoryFileName,
  parseHistoryFileName,
  parseTimelineHistory,
  type TimelineSwitch,
} from '../../engines/postgres/wal-names.js';
import type { Repository } from '../../repository/repository.js';
import { openSnapshotFile } from '../../repository/snapshot-file.js';
import { SnapshotCache, walCatalogOf, type WalCatalog } from '../wal/wal-catalog.js';
import { walWindow, type WalWindow } from '../wal/wal-window.js';
import { baseBackupsOf, type BaseBackup } from './base-backups.js';

export interface BaseWithWindow {
  readonly base: BaseBackup;
  readonly window: WalWindow;
  /** The WAL reaches the backup's stop point, so a restore of it can become consistent. */
  readonly consistent: boolean;
}

export interface WalStatus {
  readonly catalog: WalCatalog;
  readonly histories: ReadonlyMap<number, readonly TimelineSwitch[]>;
  readonly bases: readonly BaseWithWindow[];
}

export async function loadWalStatus(
  repo: Repository,
  service: string,
  signal?: AbortSignal,
): Promise<WalStatus> {
  const all = await new SnapshotCache().refresh(repo, signal);
  const catalog = walCatalogOf(all, service);
  const histories = new Map<number, readonly TimelineSwitch[]>();
  for (const [name, entry] of catalog.files) {
    if (!isHistoryFileName(name)) continue;
    await repo.loadIndex(signal);
    const snap = catalog.snapshots.find((s) => s.id === entry.snapshotId)!;
    const file = await openSnapshotFile(repo, snap, `/${name}`, signal);
    const chunks: Buffer[] = [];
    for await (const c of file.content) chunks.push(c);
    histories.set(
      parseHistoryFileName(name),
      parseTimelineHistory(Buffer.concat(chunks).toString()),
    );
  }
  const bases = baseBackupsOf(all, service).map((base) => {
    const window = walWindow(catalog, histories, base.startLsn);
    return {
      base,
      window,
      consistent: window.lastSegment !== null && window.endLsn >= base.stopLsn,
    };
  });
  return { catalog, histories, bases };
}

/** Lines for people: each base backup and its recoverable window, then gaps and forks. */
export function describeWalStatus(status: WalStatus): string[] {
  const lines: string[] = [];
  if (status.bases.length === 0)
    lines.push('no base backup: run `lifeboat backup <service>` first');
  for (const { base, window, consistent } of status.bases) {
    const id = base.snapshotId.slice(0, 8);
    const to = window.endsInPartial
      ? `within ${window.lastSegment ?? '?'} (partial, streamed)`
      : formatLsn(window.endLsn);
    lines.push(
      consistent
        ? `base ${id} (${base.time}): recoverable from ${formatLsn(base.stopLsn)} to ${to} on timeline ${String(window.timeline)}`
        : `base ${id} (${base.time}): NOT restorable: WAL from ${window.firstSegment} up to its end point ${formatLsn(base.stopLsn)} is missing`,
    );
  }
  const last = status.bases.at(-1)?.window;
  for (const g of last?.gaps ?? []) {
    lines.push(
      `gap: ${String(g.count)} segment(s) missing from ${g.missing}; WAL resumes at ${g.resumesAt}`,
    );
  }
  if (last && last.forks.length > 0) {
    lines.push(
      `timeline fork: WAL of timeline(s) ${last.forks.join(', ')} is not on the path to timeline ${String(last.timeline)}`,
    );
  }
  return lines;
}
