/**
 * Brings archived WAL files out of the repository into a local directory, several at once,
 * in one process: a restore prefetches everything recovery will ask for, so PostgreSQL's
 * restore_command is a plain `cp` instead of one Lifeboat process per segment.
 */
import { createWriteStream } from 'node:fs';
import { chown, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { mapLimit } from '../../core/concurrency.js';
import type { Repository } from '../../repository/repository.js';
import { openSnapshotFile } from '../../repository/snapshot-file.js';
import { loadSnapshot, type StoredSnapshot } from '../../repository/snapshot.js';
import type { WalEntry } from './wal-catalog.js';

export interface WalFetchItem {
  readonly entry: WalEntry;
  /** The name to write in the directory (a partial is restored under its segment name). */
  readonly as: string;
}

export interface WalFetchOptions {
  readonly concurrency?: number;
  readonly owner?: { uid: number; gid: number };
  readonly signal?: AbortSignal;
  readonly onFile?: (name: string, bytes: number) => void;
  /** Snapshots already loaded (the catalog's), so their files are not read and decrypted again. */
  readonly known?: readonly StoredSnapshot[];
}

/** Writes each file atomically (temp name, then rename); returns the bytes written. */
export async function fetchWalFiles(
  repo: Repository,
  items: readonly WalFetchItem[],
  dir: string,
  options: WalFetchOptions = {},
): Promise<number> {
  const { signal } = options;
  await repo.loadIndex(signal);
  let total = 0;
  const known = new Map((options.known ?? []).map((s) => [s.id, s]));
  await mapLimit(items, options.concurrency ?? 4, async ({ entry, as }) => {
    const snap = known.get(entry.snapshotId) ?? (await loadSnapshot(repo, entry.snapshotId));
    const file = await openSnapshotFile(repo, snap, `/${entry.name}`, signal);
    const final = join(dir, as);
    const temp = `${final}.lifeboat-tmp`;
    try {
      await pipeline(
        file.content,
        createWriteStream(temp, { mode: 0o600, flags: 'wx' }),
        signal ? { signal } : {},
      );
      if (options.owner) {
        await chown(temp, options.owner.uid, options.owner.gid);
      }
      await rename(temp, final);
    } catch (e) {
      await rm(temp, { force: true });
      throw e;
    }
    total += file.size;
    options.onFile?.(as, file.size);
  });
  return total;
}
