/**
 * `lifeboat wal push`: stores one WAL file that PostgreSQL hands to its archive_command.
 * The PostgreSQL contract (docs, "Continuous Archiving"): exit 0 only once the file is safely
 * stored; archiving the same file twice must succeed when the bytes are the same (a retry after
 * a crash), and must fail when they differ (two clusters writing to one archive).
 */
import { open } from 'node:fs/promises';
import { basename } from 'node:path';
import { LifeboatError } from '../../core/errors.js';
import { isWalFileName } from '../../engines/postgres/wal-names.js';
import { backupStream } from '../../repository/backup.js';
import { lockRepository } from '../../repository/lock.js';
import type { Repository } from '../../repository/repository.js';
import { openSnapshotFile } from '../../repository/snapshot-file.js';
import type { StoredSnapshot } from '../../repository/snapshot.js';
import { loadWalCatalog, serviceTag, SnapshotCache, WAL_KIND_TAG } from './wal-catalog.js';
import { readyFiles, writeMark, type AheadMarks } from './wal-ahead.js';

export interface WalPushResult {
  readonly name: string;
  /** stored: a new snapshot; unchanged: the same bytes were already archived. */
  readonly status: 'stored' | 'unchanged';
  readonly snapshotId: string;
  readonly bytes: number;
}

export interface WalPushOptions {
  /** Store the file under this name instead of the path's base name (pg_receivewal partials). */
  readonly name?: string;
  readonly cache?: SnapshotCache;
  /** The file's bytes when the caller already read them (the WAL follower hashes partials). */
  readonly data?: Buffer;
  readonly signal?: AbortSignal;
}

export async function pushWalFile(
  repo: Repository,
  service: string,
  path: string,
  options: WalPushOptions = {},
): Promise<WalPushResult> {
  const name = options.name ?? basename(path);
  if (!isWalFileName(name)) {
    throw new LifeboatError(
      'INVALID_ARGUMENT',
      `${path}: "${name}" is not a WAL file name (segment, .partial, .history or .backup)`,
    );
  }
  const { signal } = options;
  const cache = options.cache ?? new SnapshotCache();
  const data = options.data ?? (await readWalFile(path));
  const catalog = await loadWalCatalog(repo, service, cache, signal);
  const existing = catalog.files.get(name);
  if (existing) {
    const snap = catalog.snapshots.find((s) => s.id === existing.snapshotId)!;
    if (await sameContent(repo, snap, name, data, signal)) {
      return { name, status: 'unchanged', snapshotId: existing.snapshotId, bytes: data.length };
    }
    if (!name.endsWith('.partial')) {
      throw new LifeboatError(
        'INTEGRITY',
        `WAL file ${name} is already archived for service ${service} (snapshot ${existing.snapshotId.slice(0, 8)}) with different content: refusing to overwrite it. Is a second cluster archiving into the same service?`,
        { details: { name, snapshot: existing.snapshotId } },
      );
    }
  }
  const result = await backupStream(repo, toIterable(data), name, {
    tags: [serviceTag(service), WAL_KIND_TAG],
    ...(signal ? { signal } : {}),
  });
  // A newer partial, or the complete segment, supersedes earlier partial copies.
  const segment = name.replace(/\.partial$/, '');
  const superseded = catalog.snapshots.filter((s) => s.paths[0] === `/${segment}.partial`);
  await removeSnapshots(repo, superseded, signal);
  return { name, status: 'stored', snapshotId: result.snapshotId, bytes: data.length };
}

export interface PushedAhead {
  readonly pushed: WalPushResult[];
  /** Files that could not be pushed ahead: the archiver will ask for them and see why. */
  readonly failed: { name: string; message: string }[];
}

/**
 * After the archiver's own file: stores the other files PostgreSQL marked ready beside it
 * (see wal-ahead.ts) and leaves a mark for each in `marks.spool`, so the archiver's calls for them
 * return at once. A file that fails here is only reported: it is not the one asked for.
 */
export async function pushAhead(
  repo: Repository,
  service: string,
  walPath: string,
  marks: AheadMarks,
  options: { cache?: SnapshotCache; signal?: AbortSignal } = {},
): Promise<PushedAhead> {
  const cache = options.cache ?? new SnapshotCache();
  const pushed: WalPushResult[] = [];
  const failed: { name: string; message: string }[] = [];
  for (const path of await readyFiles(walPath)) {
    options.signal?.throwIfAborted();
    try {
      const data = await readWalFile(path);
      const r = await pushWalFile(repo, service, path, {
        cache,
        data,
        ...(options.signal ? { signal: options.signal } : {}),
      });
      await writeMark(marks, r.name, data, r.snapshotId);
      pushed.push(r);
    } catch (e) {
      if (options.signal?.aborted) throw e;
      failed.push({ name: basename(path), message: (e as Error).message });
    }
  }
  return { pushed, failed };
}

/** Reads a WAL file whole (16 MiB by default, at most 1 GiB). */
export async function readWalFile(path: string): Promise<Buffer> {
  let fh;
  try {
    fh = await open(path, 'r');
  } catch (e) {
    throw new LifeboatError('IO', `cannot read WAL file ${path}: ${(e as Error).message}`, {
      cause: e,
    });
  }
  try {
    // WAL segments are 16 MiB by default and at most 1 GiB; read whole to compare and store.
    return await fh.readFile();
  } finally {
    await fh.close();
  }
}

async function* toIterable(data: Buffer): AsyncGenerator<Uint8Array> {
  await Promise.resolve();
  for (let i = 0; i < data.length; i += 1 << 20) yield data.subarray(i, i + (1 << 20));
}

async function sameContent(
  repo: Repository,
  snap: StoredSnapshot,
  name: string,
  data: Buffer,
  signal?: AbortSignal,
): Promise<boolean> {
  const file = await openSnapshotFile(repo, snap, `/${name}`, signal);
  if (file.size !== data.length) return false;
  let at = 0;
  for await (const buf of file.content) {
    if (!buf.equals(data.subarray(at, at + buf.length))) return false;
    at += buf.length;
  }
  return at === data.length;
}

/**
 * Deleting a snapshot file is what `restic forget` does; data stays until a prune. It is safe
 * under a shared lock: a concurrent backup never depends on another snapshot's file, and prune
 * (which would delete data) needs the exclusive lock this shared one keeps away.
 */
export async function removeSnapshots(
  repo: Repository,
  snapshots: readonly StoredSnapshot[],
  signal?: AbortSignal,
): Promise<void> {
  if (snapshots.length === 0) return;
  signal?.throwIfAborted();
  const lock = await lockRepository(repo, false);
  try {
    for (const s of snapshots) await repo.backend.remove({ type: 'snapshot', name: s.id });
  } finally {
    await lock.release();
  }
}
