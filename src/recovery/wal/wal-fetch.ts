/**
 * Brings archived WAL files out of the repository into a local directory, several at once,
 * in one process: a restore prefetches everything recovery will ask for, so PostgreSQL's
 * restore_command is a plain `cp` instead of one Lifeboat process per segment.
 */
import { createWriteStream } from 'node:fs';
import { chown, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { setTimeout as delay } from 'node:timers/promises';
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
  /**
   * Keeps the fetch at most `limit` files ahead of the one the reader last asked for (by
   * `as` name; undefined before the first request). Without it a restore to a target fetches
   * WAL past the target while PostgreSQL replays, on the same cores.
   */
  readonly pace?: WalPace;
}

export interface WalPace {
  readonly limit: number;
  readonly requested: () => Promise<string | undefined>;
  /** Without a new request for this long, pacing stops (default 3 s). */
  readonly stallMs?: number;
}

const PACE_POLL_MS = 20;

/**
 * Returns mayStart(i): resolves once file i of `names` is at most `limit` files past the last
 * one requested. Pacing is only an optimisation, never a reason to stall: with no new request
 * for stallMs (a slow start, or a reader that cannot report) it lets everything through.
 */
export function pacer(
  names: readonly string[],
  pace: WalPace | undefined,
  signal?: AbortSignal,
): (i: number) => Promise<void> {
  const position = new Map(names.map((name, i) => [name, i]));
  const stallMs = pace?.stallMs ?? 3000;
  let reached = -1;
  let progressAt = Date.now();
  let paced = pace !== undefined;
  return async (i) => {
    while (paced && pace && i > reached + pace.limit) {
      const name = await pace.requested();
      const at = name === undefined ? undefined : position.get(name);
      if (at !== undefined && at > reached) {
        reached = at;
        progressAt = Date.now();
      }
      if (i <= reached + pace.limit) return;
      if (Date.now() - progressAt > stallMs) paced = false;
      signal?.throwIfAborted();
      await delay(PACE_POLL_MS);
    }
  };
}

/** Writes each file atomically (temp name, then rename); returns the bytes written. */
export async function fetchWalFiles(
  repo: Repository,
  items: readonly WalFetchItem[],
  dir: string,
  options: WalFetchOptions = {},
): Promise<number> {
  await repo.loadIndex(options.signal);
  // The first failure stops the other fetches (a paced one may wait for requests that will
  // not come), and mapLimit waits for them: when this returns or throws, nothing writes into
  // `dir` any more, so the caller may remove it.
  const stop = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal;
  let total = 0;
  const known = new Map((options.known ?? []).map((s) => [s.id, s]));
  const mayStart = pacer(
    items.map((item) => item.as),
    options.pace,
    signal,
  );
  await mapLimit(items, options.concurrency ?? 4, async (item, i) => {
    try {
      total += await fetchOne(item, i);
    } catch (e) {
      stop.abort();
      throw e;
    }
  });
  return total;

  async function fetchOne({ entry, as }: WalFetchItem, i: number): Promise<number> {
    await mayStart(i);
    const snap = known.get(entry.snapshotId) ?? (await loadSnapshot(repo, entry.snapshotId));
    const file = await openSnapshotFile(repo, snap, `/${entry.name}`, signal);
    const final = join(dir, as);
    const temp = `${final}.lifeboat-tmp`;
    try {
      await pipeline(file.content, createWriteStream(temp, { mode: 0o600, flags: 'wx' }), {
        signal,
      });
      if (options.owner) {
        await chown(temp, options.owner.uid, options.owner.gid);
      }
      await rename(temp, final);
    } catch (e) {
      await rm(temp, { force: true });
      throw e;
    }
    options.onFile?.(as, file.size);
    return file.size;
  }
}
