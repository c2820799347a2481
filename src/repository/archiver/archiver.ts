/**
 * Backs up files and directories into trees (restic design, "Trees and Data"). For a backed-up
 * absolute path /a/b the root tree holds `a`, which holds `b`, with the metadata of the real
 * directories, exactly as restic builds it, so restic's parent detection and path filters work.
 *
 * Unchanged files (same type, size, mtime, ctime and inode as in the parent snapshot, with all
 * content blobs still indexed) are not read again. Files that vanish or cannot be read become
 * warnings and are left out; files that change while being read are stored as read, with a
 * warning. Either makes the job PARTIAL (exit code 3) while the snapshot is still written.
 */
import { lstat, readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { LifeboatError } from '../../core/errors.js';
import type { Progress } from '../../core/ports.js';
import { silentProgress } from '../../core/ports.js';
import { Semaphore } from '../../core/concurrency.js';
import { nodeFromPath } from '../fs/node-from-stat.js';
import type { BlobWriter } from '../pack/blob-writer.js';
import type { Repository } from '../repository.js';
import type { TreeNode } from '../tree/node.js';
import { decodeTree } from '../tree/tree-json.js';
import { compileExcludes, type ExcludeMatcher } from './exclude.js';
import type { InFlight } from './in-flight.js';
import { ChunkReadError, type ChunkPool } from './chunk-pool.js';
import { saveHashedChunks } from './save-stream.js';
import { scanTotals } from './scanner.js';
import { saveTree } from './save-tree.js';
import { ArchiveCounters } from './counters.js';

export interface ArchiveOptions {
  excludes?: readonly string[];
  oneFileSystem?: boolean;
  /** Root tree of the parent snapshot, for change detection. */
  parentTree?: string;
  progress?: Progress;
  signal?: AbortSignal;
}

interface VirtualDir {
  children: Map<string, VirtualDir>;
  /** Set when this path itself was named for backup. */
  target?: string;
}

export class Archiver {
  readonly counters = new ArchiveCounters();
  private readonly excludes: ExcludeMatcher;
  private readonly progress: Progress;
  /**
   * Files handed to the chunk workers at once: enough that each worker has a queue of small
   * files to take in batches. A queued job costs only its path; a worker reads one file at a
   * time and holds at most two unacknowledged chunks of it.
   */
  private readonly fileSlots = new Semaphore(32);
  /**
   * Entries being stat'ed at once. The libuv thread pool is shared by every fs call (the
   * chunk workers' reads too) and by compression: a flood of lstat calls from a large tree
   * would queue in front of them and stall the pipeline (measured: 2x slower, 2x memory).
   */
  private readonly statSlots = new Semaphore(8);
  /**
   * Entries started and not finished, across the whole walk. Without this bound every entry
   * of every directory would be started at once (a promise chain, a node and a path each):
   * 20,000 files made ~50 MB of live heap, which every garbage collection had to mark. A
   * directory gives its slot back once it is stat'ed, before its own entries start, so a
   * deep tree cannot starve itself.
   */
  private readonly entrySlots = new Semaphore(256);

  constructor(
    private readonly repo: Repository,
    private readonly writer: BlobWriter,
    private readonly inflight: InFlight,
    private readonly pool: ChunkPool,
    private readonly options: ArchiveOptions = {},
  ) {
    this.excludes = compileExcludes(options.excludes ?? []);
    this.progress = options.progress ?? silentProgress;
  }

  /** Archives the given paths; returns the root tree id and the normalised paths. */
  async archive(paths: readonly string[]): Promise<{ tree: string; paths: string[] }> {
    const targets = [...new Set(paths.map((p) => resolve(p)))].sort();
    if (targets.length === 0) throw new LifeboatError('INVALID_ARGUMENT', 'nothing to back up');
    for (const t of targets) {
      try {
        await lstat(t);
      } catch (cause) {
        throw new LifeboatError('NOT_FOUND', `${t}: cannot back up, ${describe(cause)}`, { cause });
      }
    }
    const root: VirtualDir = { children: new Map() };
    for (const t of targets) {
      if (t === '/') {
        root.target = '/';
        continue;
      }
      let dir = root;
      for (const part of t.split('/').slice(1)) {
        let next = dir.children.get(part);
        if (!next) dir.children.set(part, (next = { children: new Map() }));
        dir = next;
      }
      dir.target = t;
    }
    const stopScan = new AbortController();
    // Totals are only for progress; without it the second walk would be wasted lstat calls.
    if (this.progress.shown !== false)
      void scanTotals(
        targets,
        this.excludes,
        this.options.oneFileSystem ?? false,
        stopScan.signal,
      ).then(
        (t) => {
          if (!t) return;
          this.counters.filesTotal = t.files;
          this.counters.bytesTotal = t.bytes;
        },
        () => undefined,
      );
    try {
      const tree = await this.saveVirtual('/', root, this.options.parentTree);
      return { tree, paths: targets };
    } finally {
      stopScan.abort();
    }
  }

  private async saveVirtual(path: string, v: VirtualDir, parentTree?: string): Promise<string> {
    if (v.target !== undefined) {
      const st = await lstat(path);
      return (await this.startDir(path, parentTree, st.dev)).done;
    }
    const parentNodes = await this.parentNodes(parentTree);
    const nodes: TreeNode[] = [];
    for (const name of sortNames([...v.children.keys()])) {
      const child = v.children.get(name)!;
      const childPath = join(path, name);
      const prev = parentNodes?.get(name);
      if (child.target !== undefined && child.children.size === 0) {
        const st = await lstat(childPath);
        const node = await (await this.startEntry(childPath, name, prev, st.dev, true, false)).done;
        if (node) nodes.push(node);
        continue;
      }
      const node = await nodeFromPath(childPath, name);
      node.subtree = await this.saveVirtual(childPath, child, prev?.subtree);
      nodes.push(node);
    }
    return saveTree(this.writer, this.inflight, nodes);
  }

  /**
   * Starts every entry of a directory, in name order, descending into subdirectories as it
   * meets them; resolves once all are started, with `done` for the directory's tree id. Files
   * thus reach the chunk workers in the order of the walk, so their blobs lie in the packs in
   * that order too, which is the order a restore reads them in (restorer/load-batch.ts reads
   * neighbouring blobs with one read). At most entrySlots entries are started and unfinished.
   */
  private async startDir(
    dir: string,
    parentTree: string | undefined,
    dev: number,
  ): Promise<{ done: Promise<string> }> {
    const parentNodes = await this.parentNodes(parentTree);
    // The walk descends one directory at a time; the parent snapshot's trees of this
    // directory's subdirectories load meanwhile, instead of one after the other.
    for (const n of parentNodes?.values() ?? []) {
      if (n.type === 'dir' && n.subtree) this.prefetchTree(n.subtree);
    }
    let names: string[];
    try {
      names = sortNames(await readdir(dir));
    } catch (cause) {
      this.warn(dir, `cannot read directory: ${describe(cause)}`);
      names = [];
    }
    const pending: Promise<TreeNode | undefined>[] = [];
    try {
      for (const name of names) {
        this.options.signal?.throwIfAborted();
        const path = join(dir, name);
        if (this.excludes.matches(path)) continue;
        await this.entrySlots.acquire();
        const entry = await this.startEntry(path, name, parentNodes?.get(name), dev, false, true);
        // Awaited below; until then a failure must not count as unhandled.
        entry.done.catch(() => undefined);
        pending.push(entry.done);
      }
    } catch (err) {
      await Promise.allSettled(pending);
      throw err;
    }
    const done = Promise.all(pending).then((all) => {
      this.counters.dirs++;
      const nodes = all.filter((n): n is TreeNode => n !== undefined);
      return saveTree(this.writer, this.inflight, nodes);
    });
    return { done };
  }

  /**
   * Stats one entry and starts saving it; `done` gives its node, or undefined when it was
   * skipped (with a warning). A directory is started whole before this resolves. The entry
   * slot (if `holdsSlot`) is given back when a file or other leaf is done, and as soon as a
   * directory is stat'ed, before its own entries take slots.
   */
  private async startEntry(
    path: string,
    name: string,
    prev: TreeNode | undefined,
    rootDev: number,
    isTarget: boolean,
    holdsSlot: boolean,
  ): Promise<{ done: Promise<TreeNode | undefined> }> {
    let slot = holdsSlot;
    const releaseSlot = () => {
      if (slot) this.entrySlots.release();
      slot = false;
    };
    const finished = (node: TreeNode | undefined) => {
      releaseSlot();
      return { done: Promise.resolve(node) };
    };
    let node: TreeNode;
    await this.statSlots.acquire();
    try {
      node = await nodeFromPath(path, name);
    } catch (cause) {
      this.warn(path, `cannot stat: ${describe(cause)}`);
      return finished(undefined);
    } finally {
      this.statSlots.release();
    }
    // restic records st_dev as device_id; --one-file-system compares it with the target's.
    if (!isTarget && this.options.oneFileSystem && node.device_id !== rootDev) {
      return finished(undefined);
    }
    switch (node.type) {
      case 'socket':
        // restic 0.14 leaves sockets out of snapshots; so do we, to build identical trees.
        return finished(undefined);
      case 'dir': {
        releaseSlot();
        const sub = await this.startDir(path, prev?.subtree, rootDev);
        return {
          done: sub.done.then((id) => {
            node.subtree = id;
            return node;
          }),
        };
      }
      case 'file':
        return { done: this.saveFile(path, node, prev).finally(releaseSlot) };
      case 'symlink':
      case 'dev':
      case 'chardev':
      case 'fifo':
      case 'irregular':
        // Recorded, never read (restic does the same for devices and FIFOs).
        this.counters.others++;
        return finished(node);
    }
  }

  private async saveFile(path: string, node: TreeNode, prev: TreeNode | undefined) {
    this.counters.filesProcessed++;
    this.progress.update(this.counters.state(path));
    if (
      prev?.type === 'file' &&
      prev.size === node.size &&
      prev.mtime === node.mtime &&
      prev.ctime === node.ctime &&
      prev.inode === node.inode &&
      prev.content !== null &&
      prev.content.every((id) => this.writer.has('data', id))
    ) {
      node.content = prev.content;
      this.counters.filesUnmodified++;
      this.counters.bytesProcessed += node.size ?? 0;
      return node;
    }
    await this.fileSlots.acquire();
    try {
      const outcome: { changed?: boolean } = {};
      const saved = await saveHashedChunks(
        this.writer,
        this.inflight,
        this.pool.chunkFile(path, outcome, node.size),
        (n) => {
          this.counters.bytesProcessed += n;
          this.progress.update(this.counters.state(path));
        },
      );
      node.content = saved.content;
      const statSize = node.size ?? 0;
      node.size = saved.size;
      if (outcome.changed || saved.size !== statSize) {
        this.warn(path, 'file changed while it was read; stored what was read');
      }
    } catch (cause) {
      if (!(cause instanceof ChunkReadError)) throw cause;
      this.warn(path, `cannot read: ${cause.code || cause.message}`);
      return undefined;
    } finally {
      this.fileSlots.release();
    }
    if (prev?.type === 'file') this.counters.filesChanged++;
    else this.counters.filesNew++;
    return node;
  }

  /** Parent trees being loaded ahead of the walk (see startDir), by tree id. */
  private readonly treeLoads = new Map<string, Promise<Map<string, TreeNode> | undefined>>();

  private prefetchTree(treeId: string): void {
    if (this.treeLoads.size >= 64 || this.treeLoads.has(treeId)) return;
    this.treeLoads.set(treeId, this.loadParentNodes(treeId));
  }

  private parentNodes(treeId?: string): Promise<Map<string, TreeNode> | undefined> {
    if (!treeId) return Promise.resolve(undefined);
    const early = this.treeLoads.get(treeId);
    if (early) {
      this.treeLoads.delete(treeId);
      return early;
    }
    return this.loadParentNodes(treeId);
  }

  private async loadParentNodes(treeId: string): Promise<Map<string, TreeNode> | undefined> {
    if (!this.repo.index.has('tree', treeId)) return undefined;
    try {
      const nodes = decodeTree(await this.repo.loadBlob('tree', treeId), treeId);
      return new Map(nodes.map((n) => [n.name, n]));
    } catch {
      // A damaged parent only costs us change detection: read everything again.
      return undefined;
    }
  }

  private warn(path: string, message: string): void {
    this.counters.warnings.push({ path, message });
    this.progress.warn(path, message);
  }
}

/** restic sorts tree entries by the bytes of their names. */
export function sortNames(names: string[]): string[] {
  return names
    .map((name) => ({ name, bytes: Buffer.from(name) }))
    .sort((a, b) => Buffer.compare(a.bytes, b.bytes))
    .map((e) => e.name);
}

function describe(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return e.code ? e.code + (e.syscall ? ` (${e.syscall})` : '') : String(err);
}
