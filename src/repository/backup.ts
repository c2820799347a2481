/**
 * One backup job against an open repository: lock (shared), archive paths or a stream, wait
 * for every pack and index to be durable, then write the snapshot (restic design: packs, then
 * index, then snapshot). An interrupted job leaves at most unreferenced packs behind.
 */
import { availableParallelism, hostname } from 'node:os';
import { resolve } from 'node:path';
import { LifeboatError } from '../core/errors.js';
import type { Progress } from '../core/ports.js';
import { silentProgress } from '../core/ports.js';
import { Archiver } from './archiver/archiver.js';
import type { ArchiveWarning } from './archiver/counters.js';
import { ArchiveCounters } from './archiver/counters.js';
import { InFlight } from './archiver/in-flight.js';
import { ChunkPool } from './archiver/chunk-pool.js';
import { KnownFilter } from './archiver/known-filter.js';
import { saveHashedChunks, saveStream } from './archiver/save-stream.js';
import { saveTree } from './archiver/save-tree.js';
import { lockRepository } from './lock.js';
import { currentUser } from './open-repository.js';
import { BlobWriter, type BlobWriterStats } from './pack/blob-writer.js';
import type { Repository } from './repository.js';
import type { Snapshot, StoredSnapshot } from './snapshot.js';
import { encodeSnapshot, loadAllSnapshots } from './snapshot.js';
import { formatGoTime } from './tree/tree-json.js';
import type { TreeNode } from './tree/node.js';

export const PROGRAM_VERSION = 'lifeboat 0.1.0';

const IN_FLIGHT_BYTES = 24 * 1024 * 1024;

/** Reading, chunking and hashing threads; the machines have two cores (ENVIRONMENT.md). */
const CHUNK_WORKERS = Math.max(1, Math.min(2, availableParallelism()));

export interface BackupOptions {
  tags?: readonly string[];
  hostname?: string;
  excludes?: readonly string[];
  oneFileSystem?: boolean;
  /** Parent snapshot id, or undefined to pick the newest with the same host and paths. */
  parent?: string;
  /** Skip parent detection and read everything. */
  force?: boolean;
  time?: Date;
  /**
   * Tags known only once the data is in (a base backup's stop LSN): called after every stream
   * completed and before the snapshot is written; added to `tags`.
   */
  tagsAfter?: () => Promise<readonly string[]>;
  progress?: Progress;
  signal?: AbortSignal;
}

export interface BackupResult {
  snapshotId: string;
  snapshot: Snapshot;
  counters: ArchiveCounters;
  writer: BlobWriterStats;
  warnings: ArchiveWarning[];
  durationMs: number;
}

export async function backupPaths(
  repo: Repository,
  paths: readonly string[],
  options: BackupOptions = {},
): Promise<BackupResult> {
  const targets = [...new Set(paths.map((p) => resolve(p)))].sort();
  return withBackupJob(repo, options, targets, async (writer, inflight, parent, pool) => {
    const archiver = new Archiver(repo, writer, inflight, pool, {
      excludes: options.excludes ?? [],
      oneFileSystem: options.oneFileSystem ?? false,
      ...(parent ? { parentTree: parent.tree } : {}),
      progress: options.progress ?? silentProgress,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    const { tree, paths: resolved } = await archiver.archive(targets);
    return { tree, paths: resolved, counters: archiver.counters };
  });
}

/**
 * Backs up a stream as one file named `filename` in the root tree, like `restic backup
 * --stdin --stdin-filename`: the snapshot's path is `/<filename>`.
 */
export async function backupStream(
  repo: Repository,
  source: StreamSource,
  filename: string,
  options: BackupOptions = {},
): Promise<BackupResult> {
  return backupStreams(repo, [{ name: filename, source }], options);
}

/** One named stream of a multi-stream backup (a database dump per database, a WAL segment). */
export interface StreamPart {
  readonly name: string;
  readonly source: StreamSource;
}

/**
 * Backs up several streams, read one after the other, as files in the root tree of one
 * snapshot (paths `/<name>` each). If any stream throws (a dump tool failed), no snapshot is
 * written: the job fails as a whole and earlier snapshots are untouched.
 */
export async function backupStreams(
  repo: Repository,
  parts: readonly StreamPart[],
  options: BackupOptions = {},
): Promise<BackupResult> {
  const names = new Set<string>();
  for (const { name } of parts) {
    if (name === '' || name.includes('/') || name === '.' || name === '..' || name.includes('\0')) {
      throw new LifeboatError('INVALID_ARGUMENT', `stream name "${name}" must be a plain name`);
    }
    if (names.has(name)) {
      throw new LifeboatError('INVALID_ARGUMENT', `stream name "${name}" is used twice`);
    }
    names.add(name);
  }
  if (parts.length === 0) {
    throw new LifeboatError('INVALID_ARGUMENT', 'a stream backup needs at least one stream');
  }
  // Paths keep the production order (globals before databases): a restore replays it.
  const paths = parts.map((p) => `/${p.name}`);
  const streamOptions = { ...options, force: true };
  return withBackupJob(repo, streamOptions, paths, async (writer, inflight, _p, pool) => {
    const counters = new ArchiveCounters();
    const progress = options.progress ?? silentProgress;
    const nodes: TreeNode[] = [];
    for (const { name, source } of parts) {
      const onBytes = (n: number) => {
        counters.bytesProcessed += n;
        progress.update(counters.state(name));
      };
      const saved =
        'path' in source
          ? await saveHashedChunks(writer, inflight, pool.chunkFile(source.path), onBytes)
          : await saveStream(
              writer,
              inflight,
              repo.config.chunkerPolynomial,
              source,
              onBytes,
              options.signal,
            );
      counters.filesProcessed += 1;
      counters.filesNew += 1;
      const now = goTimeOf(new Date());
      nodes.push({
        name,
        type: 'file',
        mode: 0o644,
        mtime: now,
        atime: now,
        ctime: now,
        uid: process.getuid?.() ?? 0,
        gid: process.getgid?.() ?? 0,
        user: currentUser(),
        size: saved.size,
        content: saved.content,
      });
    }
    nodes.sort((a, b) => Buffer.compare(Buffer.from(a.name), Buffer.from(b.name)));
    const tree = await saveTree(writer, inflight, nodes);
    return { tree, paths, counters };
  });
}

/**
 * A stream to back up: a path that a chunk worker reads (a file, a FIFO, /dev/stdin), or an
 * async iterable chunked on this thread (e.g. a child process's stdout).
 */
export type StreamSource = { path: string } | AsyncIterable<Uint8Array>;

type Work = (
  writer: BlobWriter,
  inflight: InFlight,
  parent: StoredSnapshot | undefined,
  pool: ChunkPool,
) => Promise<{ tree: string; paths: string[]; counters: ArchiveCounters }>;

async function withBackupJob(
  repo: Repository,
  options: BackupOptions,
  paths: string[],
  work: Work,
): Promise<BackupResult> {
  const started = Date.now();
  const time = options.time ?? new Date();
  const lock = await lockRepository(repo, false);
  try {
    await repo.loadIndex(options.signal);
    const host = options.hostname ?? hostname();
    // Built when the first chunk worker starts (database dumps chunked here never need it).
    let known: KnownFilter | undefined;
    const writer = new BlobWriter(repo, {
      ...(options.signal ? { signal: options.signal } : {}),
      onPending: (id) => known?.add(id),
    });
    // Bytes handed to the blob writer and not yet packed (bench/: peak RSS vs restic).
    const inflight = new InFlight(IN_FLIGHT_BYTES);
    // Only a tree backup has a parent; streams are read whole anyway, so skip the listing.
    const parent = options.force
      ? undefined
      : findParent(await loadAllSnapshots(repo, () => undefined), host, paths, options.parent);
    const pool = new ChunkPool(repo.config.chunkerPolynomial, CHUNK_WORKERS, {
      key: repo.key,
      compression: repo.compression,
      known: () => (known ??= knownFilterOf(repo, writer)),
    });
    let done;
    try {
      done = await work(writer, inflight, parent, pool);
      await inflight.drain();
    } catch (err) {
      await writer.discard().catch(() => undefined);
      throw err;
    } finally {
      await pool.close();
    }
    await writer.flush();
    const tags = [...(options.tags ?? []), ...((await options.tagsAfter?.()) ?? [])];
    const snapshot: Snapshot = {
      // Go's RFC 3339 form (local offset, trimmed fraction), as restic writes it.
      time: goTimeOf(time),
      ...(parent ? { parent: parent.id } : {}),
      tree: done.tree,
      paths: done.paths,
      hostname: host,
      username: currentUser(),
      uid: process.getuid?.() ?? 0,
      gid: process.getgid?.() ?? 0,
      ...(options.excludes?.length ? { excludes: [...options.excludes] } : {}),
      ...(tags.length ? { tags } : {}),
      program_version: PROGRAM_VERSION,
    };
    const snapshotId = await repo.saveUnpacked(
      'snapshot',
      encodeSnapshot(snapshot),
      options.signal,
    );
    return {
      snapshotId,
      snapshot,
      counters: done.counters,
      writer: writer.stats,
      warnings: done.counters.warnings,
      durationMs: Date.now() - started,
    };
  } finally {
    await lock.release();
  }
}

/** Every data blob the repository has or this backup is storing, for the chunk workers. */
function knownFilterOf(repo: Repository, writer: BlobWriter): KnownFilter {
  // Room for the index and as many new blobs again.
  const filter = KnownFilter.create(2 * repo.index.size + 100_000);
  for (const id of repo.index.ids('data')) filter.add(id);
  for (const id of writer.pendingIds('data')) filter.add(id);
  return filter;
}

function findParent(
  all: StoredSnapshot[],
  host: string,
  paths: readonly string[],
  explicit: string | undefined,
): StoredSnapshot | undefined {
  if (explicit) {
    const found = all.find((s) => s.id.startsWith(explicit));
    if (!found) throw new LifeboatError('NOT_FOUND', `parent snapshot ${explicit} not found`);
    return found;
  }
  // restic: the newest snapshot with the same host and the same set of paths.
  const want = [...paths].sort().join('\0');
  return all.filter((s) => s.hostname === host && [...s.paths].sort().join('\0') === want).at(-1);
}

function goTimeOf(d: Date): string {
  const ms = BigInt(d.getTime());
  const sec = ms >= 0n ? ms / 1000n : (ms - 999n) / 1000n;
  return formatGoTime(sec, (ms - sec * 1000n) * 1_000_000n);
}
