/**
 * Which WAL files of a service the repository holds. Every WAL file (segment, partial
 * segment, timeline history, backup history) is stored as a snapshot of its own, tagged
 * `service=<name>` and `kind=wal`, whose only path is `/<file name>`; so the catalog comes
 * from the snapshot list alone, without reading trees, and a stock `restic restore <id>`
 * gives back the file.
 */
import type { Repository } from '../../repository/repository.js';
import { loadSnapshot, type StoredSnapshot } from '../../repository/snapshot.js';
import { mapLimit } from '../../core/concurrency.js';
import { isWalFileName } from '../../engines/postgres/wal-names.js';

export const WAL_KIND_TAG = 'kind=wal';

export interface WalEntry {
  /** File name as PostgreSQL archives it (a partial keeps its ".partial" suffix). */
  readonly name: string;
  readonly snapshotId: string;
  readonly time: string;
}

export interface WalCatalog {
  /** Newest stored copy of each file, by name. */
  readonly files: ReadonlyMap<string, WalEntry>;
  /** Every WAL snapshot of the service, oldest first (duplicates and superseded partials too). */
  readonly snapshots: readonly StoredSnapshot[];
}

export function serviceTag(service: string): string {
  return `service=${service}`;
}

export function isWalSnapshotOf(s: StoredSnapshot, service: string): boolean {
  const tags = s.tags ?? [];
  return tags.includes(WAL_KIND_TAG) && tags.includes(serviceTag(service)) && s.paths.length === 1;
}

/**
 * Reads snapshots once and keeps them, so a long-running WAL follower lists the repository
 * every second without decrypting every snapshot again. Snapshots are immutable, so a cached
 * one is never stale; removed ones drop out on the next refresh.
 */
export class SnapshotCache {
  private readonly known = new Map<string, StoredSnapshot | null>();

  async refresh(repo: Repository, signal?: AbortSignal): Promise<StoredSnapshot[]> {
    const ids: string[] = [];
    for await (const id of repo.list('snapshot', signal)) ids.push(id);
    const present = new Set(ids);
    for (const id of this.known.keys()) if (!present.has(id)) this.known.delete(id);
    await mapLimit(
      ids.filter((id) => !this.known.has(id)),
      8,
      async (id) => {
        try {
          this.known.set(id, await loadSnapshot(repo, id));
        } catch {
          // A damaged or vanished snapshot is not a WAL file we can use.
          this.known.set(id, null);
        }
      },
    );
    const out: StoredSnapshot[] = [];
    for (const s of this.known.values()) if (s) out.push(s);
    return out.sort((a, b) => Date.parse(a.time) - Date.parse(b.time) || (a.id < b.id ? -1 : 1));
  }
}

export async function loadWalCatalog(
  repo: Repository,
  service: string,
  cache = new SnapshotCache(),
  signal?: AbortSignal,
): Promise<WalCatalog> {
  return walCatalogOf(await cache.refresh(repo, signal), service);
}

/** The catalog of a service from an already loaded snapshot list (oldest first). */
export function walCatalogOf(all: readonly StoredSnapshot[], service: string): WalCatalog {
  const snapshots = all.filter((s) => isWalSnapshotOf(s, service));
  const files = new Map<string, WalEntry>();
  for (const s of snapshots) {
    const name = s.paths[0]!.slice(1);
    if (!isWalFileName(name)) continue;
    // Oldest first, so the newest copy of a name wins.
    files.set(name, { name, snapshotId: s.id, time: s.time });
  }
  return { files, snapshots };
}
