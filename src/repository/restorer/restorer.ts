/**
 * Restores a snapshot (or parts of it) into a target directory.
 *
 * The tree comes from a repository that may be damaged or hostile, so every name is checked
 * (decodeTree rejects `..`, `/`, NUL) and joined with safeJoin; files are created with
 * O_EXCL so nothing is ever written through an existing symlink; directories are created by
 * us and never followed if something else is in the way. Directory metadata is applied last,
 * deepest first, so writing children does not disturb directory mtimes.
 */
import { execFile } from 'node:child_process';
import { link, lstat, mkdir, open, readdir, rm, symlink } from 'node:fs/promises';
import { promisify } from 'node:util';
import { LifeboatError } from '../../core/errors.js';
import type { Progress } from '../../core/ports.js';
import { silentProgress } from '../../core/ports.js';
import { InFlight } from '../archiver/in-flight.js';
import { applyMetadata } from '../fs/apply-metadata.js';
import { safeJoin } from '../fs/safe-path.js';
import type { BlobLocation } from '../blob.js';
import type { Repository } from '../repository.js';
import type { TreeNode } from '../tree/node.js';
import { decodeTree } from '../tree/tree-json.js';
import { FileWriter } from './file-writer.js';
import { planRanges } from './load-batch.js';
import { prefetchBlobsReused } from './prefetch.js';
import { compileIncludes, type IncludeMatcher } from './include.js';

export interface RestoreOptions {
  target: string;
  /** Snapshot paths to restore (with everything below them); default everything. */
  include?: readonly string[];
  /** Allow a non-empty target and replace existing entries. */
  overwrite?: boolean;
  progress?: Progress;
  signal?: AbortSignal;
}

export interface RestoreStats {
  files: number;
  dirs: number;
  others: number;
  bytes: number;
  warnings: { path: string; message: string }[];
}

const PREFETCH = 4;
/** Small files whose blobs are loaded together, at most this many and about this many bytes. */
const SMALL_BATCH = 64;
const SMALL_BATCH_BYTES = 8 * 1024 * 1024;

export async function restoreTree(
  repo: Repository,
  rootTree: string,
  options: RestoreOptions,
): Promise<RestoreStats> {
  await repo.loadIndex(options.signal);
  await prepareTarget(options.target, options.overwrite ?? false);
  const r = new Restorer(repo, options);
  try {
    await r.restoreDir(rootTree, [], '');
    await r.finish();
  } finally {
    await r.close();
  }
  return r.stats;
}

class Restorer {
  readonly stats: RestoreStats = { files: 0, dirs: 0, others: 0, bytes: 0, warnings: [] };
  private readonly files = new InFlight(32);
  private readonly dirMeta: { path: string; node: TreeNode }[] = [];
  private readonly hardlinks = new Map<string, string>();
  private readonly include: IncludeMatcher;
  private readonly progress: Progress;
  private readonly owner = process.getuid?.() === 0;
  private readonly writer: FileWriter;
  /** Range reads of small files' blobs being read or written, by bytes read. */
  private readonly ranges = new InFlight(16 * 1024 * 1024);
  /** Small files (one blob or none) waiting to be loaded together (load-batch.ts). */
  private small: { path: string; node: TreeNode }[] = [];
  private smallBytes = 0;

  constructor(
    private readonly repo: Repository,
    private readonly options: RestoreOptions,
  ) {
    this.include = compileIncludes(options.include ?? []);
    this.progress = options.progress ?? silentProgress;
    this.writer = new FileWriter(repo.key);
  }

  async restoreDir(treeId: string, parts: string[], snapPath: string): Promise<void> {
    const nodes = decodeTree(await this.repo.loadBlob('tree', treeId), treeId);
    // Names are unique as bytes, but a name that is not UTF-8 is restored under its display
    // form (U+FFFD for each bad byte), so two entries can meet on one path. The second one
    // would replace the first while the first is still being written, and the first one's
    // metadata would then be applied through whatever the second put there (a symlink
    // pointing outside the target), so only the first is restored.
    const used = new Set<string>();
    for (const node of nodes) {
      this.options.signal?.throwIfAborted();
      const childParts = [...parts, node.name];
      const childSnap = `${snapPath}/${node.name}`;
      const sel = this.include.select(childSnap);
      if (sel === 'skip') continue;
      const path = safeJoin(this.options.target, childParts);
      if (used.has(node.name)) {
        this.warn(
          path,
          'another entry of this directory has the same name once bytes that are not UTF-8 are replaced; not restored',
        );
        continue;
      }
      used.add(node.name);
      if (node.type === 'dir') {
        if (!node.subtree) {
          throw new LifeboatError(
            'INTEGRITY',
            `tree ${treeId}: directory ${node.name} has no subtree`,
          );
        }
        await this.makeDir(path);
        await this.restoreDir(node.subtree, childParts, childSnap);
        if (sel === 'restore') {
          this.stats.dirs++;
          this.dirMeta.push({ path, node });
        }
        continue;
      }
      if (sel !== 'restore') continue;
      await this.restoreLeaf(path, node);
    }
  }

  /**
   * Reads the queued small files' blobs with as few range reads as possible and hands each
   * range, with its files, to a writing thread, which opens the blobs and writes the files.
   */
  private async flushSmall(): Promise<void> {
    const batch = this.small;
    if (batch.length === 0) return;
    this.small = [];
    this.smallBytes = 0;
    const { ranges, unknown } = planRanges(
      this.repo,
      batch.map((f) => f.node.content?.[0]),
    );
    if (unknown.length > 0) throw unknown[0]!.error;
    const empty = batch.filter((f) => (f.node.content ?? []).length === 0);
    if (empty.length > 0) {
      await this.ranges.start(() => this.writeSmall(undefined, empty));
    }
    for (const range of ranges) {
      await this.ranges.start(async () => {
        const raw = await this.repo.loadPackRange(
          range.first,
          range.start,
          range.length,
          this.options.signal,
        );
        const files = range.members.map((m) => ({
          ...batch[m.at]!,
          blob: { loc: m.loc, at: m.loc.offset - range.start },
        }));
        await this.writeSmall(raw, files);
      }, range.length);
    }
  }

  private async writeSmall(
    raw: Buffer | undefined,
    files: readonly { path: string; node: TreeNode; blob?: { loc: BlobLocation; at: number } }[],
  ): Promise<void> {
    const written = this.writer.writeBatch(
      raw,
      files.map(({ path, node, blob }) => ({
        path,
        meta: node,
        owner: this.owner,
        ...(blob ? { blob } : {}),
      })),
    );
    await Promise.all(
      written.map((p, i) =>
        p.then(
          (size) => {
            this.stats.bytes += size;
            this.stats.files++;
            this.reportProgress(files[i]!.path);
          },
          (err: unknown) => {
            throw inTheWay(files[i]!.path, err);
          },
        ),
      ),
    );
  }

  /** Writes the queued small files and waits until every file started is on disk. */
  private async settle(): Promise<void> {
    await this.flushSmall();
    await this.ranges.drain();
    await this.files.drain();
  }

  /** Stops the writing thread; after an error, waits for the files still being written. */
  async close(): Promise<void> {
    await this.ranges.drain().catch(() => undefined);
    await this.files.drain().catch(() => undefined);
    await this.writer.close();
  }

  async finish(): Promise<void> {
    await this.settle();
    for (const { path, node } of this.dirMeta.reverse()) {
      // chmod and utimes follow symlinks: apply only onto the directory this restore made.
      const st = await lstat(path).catch(() => undefined);
      if (!st?.isDirectory()) {
        this.warn(path, 'directory was replaced while restoring; its metadata is not applied');
        continue;
      }
      await applyMetadata(path, node, { owner: this.owner });
    }
  }

  private async restoreLeaf(path: string, node: TreeNode): Promise<void> {
    // Without --overwrite the target was empty when the restore began; every leaf is then
    // created exclusively (O_EXCL, symlink, mkfifo), so an entry that appeared meanwhile
    // fails with EEXIST instead of needing an lstat round trip per entry.
    // With it, whatever is at path goes first (rm removes a symlink, never what it points to).
    if (this.options.overwrite) await rm(path, { recursive: true, force: true });
    try {
      await this.createLeaf(path, node);
    } catch (err) {
      throw inTheWay(path, err);
    }
  }

  private async createLeaf(path: string, node: TreeNode): Promise<void> {
    switch (node.type) {
      case 'file': {
        const key =
          node.links !== undefined && node.links > 1 ? `${node.device_id}:${node.inode}` : '';
        const first = key ? this.hardlinks.get(key) : undefined;
        if (first) {
          await this.settle();
          await link(first, path);
          this.stats.files++;
          return;
        }
        if (key) this.hardlinks.set(key, path);
        if ((node.content ?? []).length <= 1) {
          this.small.push({ path, node });
          this.smallBytes += node.size ?? 0;
          if (this.small.length >= SMALL_BATCH || this.smallBytes >= SMALL_BATCH_BYTES) {
            await this.flushSmall();
          }
          return;
        }
        await this.files.start(() => this.writeFile(path, node));
        return;
      }
      case 'symlink':
        await symlink(node.linktarget ?? '', path);
        await applyMetadata(path, node, { owner: this.owner });
        this.stats.others++;
        return;
      case 'fifo':
        await promisify(execFile)('mkfifo', ['--', path]);
        await applyMetadata(path, node, { owner: this.owner });
        this.stats.others++;
        return;
      case 'dev':
      case 'chardev':
      case 'socket':
      case 'irregular':
      case 'dir':
        this.warn(path, `${node.type} entries are not restored`);
        return;
    }
  }

  private async writeFile(path: string, node: TreeNode): Promise<void> {
    const fh = await open(path, 'wx', 0o600).catch((err: unknown) => {
      throw inTheWay(path, err);
    });
    // One write in flight while the next blob is opened; prefetchBlobsReused keeps a buffer
    // valid until the one after next is asked for.
    let writing: Promise<unknown> | undefined;
    try {
      for await (const buf of prefetchBlobsReused(
        this.repo,
        node.content ?? [],
        PREFETCH,
        this.options.signal,
      )) {
        await writing;
        writing = fh.write(buf);
        writing.catch(() => undefined); // awaited next turn, or below when the file fails
        this.stats.bytes += buf.length;
        this.reportProgress(path);
      }
      await writing;
    } finally {
      await writing?.catch(() => undefined);
      await fh.close();
    }
    await applyMetadata(path, node, { owner: this.owner });
    this.stats.files++;
  }

  private reportProgress(path: string): void {
    this.progress.update({
      phase: 'restore',
      filesDone: this.stats.files,
      bytesDone: this.stats.bytes,
      current: path,
    });
  }

  private async makeDir(path: string): Promise<void> {
    try {
      await mkdir(path, { mode: 0o700 });
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const st = await lstat(path);
    if (st.isDirectory()) return;
    if (!this.options.overwrite) {
      throw new LifeboatError('TARGET_NOT_EMPTY', `${path} exists and is not a directory`);
    }
    await rm(path, { recursive: true, force: true });
    await mkdir(path, { mode: 0o700 });
  }

  private warn(path: string, message: string): void {
    this.stats.warnings.push({ path, message });
    this.progress.warn(path, message);
  }
}

/**
 * Leaves are created exclusively, so EEXIST means something stood at `path` that this restore
 * did not put there: the target was not empty after all.
 */
function inTheWay(path: string, err: unknown): unknown {
  return (err as NodeJS.ErrnoException).code === 'EEXIST'
    ? new LifeboatError('TARGET_NOT_EMPTY', `${path} already exists`, { cause: err })
    : err;
}

async function prepareTarget(target: string, overwrite: boolean): Promise<void> {
  const st = await lstat(target).catch(() => undefined);
  if (!st) {
    await mkdir(target, { recursive: true, mode: 0o700 });
    return;
  }
  if (!st.isDirectory()) {
    throw new LifeboatError('INVALID_ARGUMENT', `restore target ${target} is not a directory`);
  }
  if (!overwrite && (await readdir(target)).length > 0) {
    throw new LifeboatError(
      'TARGET_NOT_EMPTY',
      `restore target ${target} is not empty; use --overwrite to restore into it anyway`,
    );
  }
}
