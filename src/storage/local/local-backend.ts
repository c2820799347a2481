/**
 * The local-directory backend, in restic's layout (RESTIC-FORMAT.md "Layout").
 *
 * Atomic, durable, write-once save(): the bytes go to `.tmp-*` in the target directory and
 * are fsync'd; link() then gives them their final name, which fails with EEXIST instead of
 * clobbering; finally the directory is fsync'd so the new name survives a power cut. A crash
 * at any point leaves either no file or the complete one (plus, at worst, a temp file that
 * list() ignores and cleanupTempFiles() removes).
 *
 * Modes follow restic 0.14 (checked against the binary): directories 0700 and files made
 * read-only, 0400; when `config` is group-readable the repository is shared with the group
 * and restic uses 0770 / 0440 instead.
 */
import { chmod, link, mkdir, open, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { LifeboatError } from '../../core/errors.js';
import { throwIfAborted } from '../abort.js';
import type {
  Backend,
  FileInfo,
  FileType,
  Handle,
  LoadRange,
  SaveData,
  SaveOptions,
} from '../backend.js';
import { isStagedFile, saveParts, type StagedFile } from '../backend.js';
import { ReadHandles } from './read-handles.js';
import { checkHandle, relativePath, shardNames, TYPE_DIRS } from '../handle.js';
import { checkRange, resolveRange, shortRead } from '../load-range.js';
import { alreadyExistsError } from '../storage-errors.js';
import { errnoCode, fsError } from './fs-error.js';
import { listFiles, listShardDirs } from './list-dir.js';
import { LocalStagedFile } from './staged-file.js';
import { cleanupTempFiles, tempNameFor } from './temp-files.js';

export { cleanupTempFiles } from './temp-files.js';

/** Hooks for tests that prove atomicity and durability; production code passes none. */
export interface LocalBackendObserver {
  /** The temp file is complete and fsync'd but not yet visible under its final name. */
  onTempWritten?(tempPath: string, finalPath: string): void | Promise<void>;
  /** An fsync of a file or directory succeeded. */
  onFsync?(path: string, kind: 'file' | 'dir'): void;
}

export interface LocalBackendOptions {
  observer?: LocalBackendObserver;
}

interface Modes {
  dir: number;
  file: number;
}
const PRIVATE_MODES: Modes = { dir: 0o700, file: 0o400 };
const GROUP_MODES: Modes = { dir: 0o770, file: 0o440 };

/** Filesystems without hard links (FAT, some SMB mounts) answer link() with these. */
const NO_LINK = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EXDEV']);
/** Filesystems that cannot fsync a directory (restic #3720, SMB) answer with these. */
const NO_DIR_SYNC = new Set(['EINVAL', 'ENOTSUP', 'EOPNOTSUPP', 'EISDIR', 'EBADF', 'EPERM']);

export function createLocalBackend(path: string, options: LocalBackendOptions = {}): Backend {
  const root = resolve(path);
  const observer = options.observer ?? {};
  const pathOf = (h: Handle) => join(root, relativePath(h));
  const packHandles = new ReadHandles();
  let modes: Modes | undefined;

  async function getModes(): Promise<Modes> {
    if (modes) return modes;
    try {
      modes = ((await stat(join(root, 'config'))).mode & 0o040) !== 0 ? GROUP_MODES : PRIVATE_MODES;
      return modes;
    } catch {
      return PRIVATE_MODES; // no config yet (init) or unreadable: the error surfaces elsewhere
    }
  }

  async function openTemp(dir: string, tmp: string): Promise<FileHandle> {
    try {
      return await open(tmp, 'wx', 0o600);
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw fsError(err, 'create', tmp);
    }
    // A missing shard or type directory is recreated, as restic does.
    await mkdir(dir, { recursive: true, mode: (await getModes()).dir }).catch((err: unknown) => {
      throw fsError(err, 'create directory', dir);
    });
    return open(tmp, 'wx', 0o600).catch((err: unknown) => {
      throw fsError(err, 'create', tmp);
    });
  }

  async function writeTemp(fh: FileHandle, tmp: string, data: SaveData): Promise<void> {
    try {
      await writeAll(fh, saveParts(data).parts);
      await fh.sync();
      observer.onFsync?.(tmp, 'file');
      // Read-only like restic; some filesystems refuse chmod, which restic ignores too.
      await fh.chmod((await getModes()).file).catch(() => undefined);
    } catch (err) {
      await fh.close().catch(() => undefined);
      throw fsError(err, 'write', tmp);
    }
    // Network filesystems may report a failed write only here.
    await fh.close().catch((err: unknown) => {
      throw fsError(err, 'close', tmp);
    });
  }

  /** Gives the temp file its final name without ever replacing an existing file. */
  async function commit(tmp: string, final: string, overwrite: boolean): Promise<void> {
    if (overwrite) {
      await rename(tmp, final).catch((err: unknown) => {
        throw fsError(err, 'rename into', final);
      });
      return;
    }
    try {
      await link(tmp, final);
    } catch (err) {
      const code = errnoCode(err);
      if (code === 'EEXIST') throw alreadyExistsError(final);
      if (code === undefined || !NO_LINK.has(code)) throw fsError(err, 'link', final);
      // Without hard links, check-then-rename is the best available (not race-free).
      if (await exists(final)) throw alreadyExistsError(final);
      await rename(tmp, final).catch((e: unknown) => {
        throw fsError(e, 'rename into', final);
      });
      return;
    }
    await unlink(tmp).catch(() => undefined); // the save is complete; a leftover is harmless
  }

  async function syncDir(dir: string): Promise<void> {
    let fh: FileHandle | undefined;
    try {
      fh = await open(dir, 'r');
      await fh.sync();
      observer.onFsync?.(dir, 'dir');
    } catch (err) {
      const code = errnoCode(err);
      if (code === undefined || !NO_DIR_SYNC.has(code)) throw fsError(err, 'sync directory', dir);
    } finally {
      await fh?.close().catch(() => undefined);
    }
  }

  async function exists(p: string): Promise<boolean> {
    try {
      await stat(p);
      return true;
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return false;
      throw fsError(err, 'stat', p);
    }
  }

  /** save() of a file staged here: fsync it, then link it into place like any temp file. */
  async function saveStaged(h: Handle, staged: StagedFile, opts: SaveOptions): Promise<void> {
    if (!(staged instanceof LocalStagedFile) || staged.owner !== backend) {
      throw new LifeboatError('INTERNAL', `save ${h.type} ${h.name}: staged by another backend`);
    }
    const final = pathOf(h);
    const dir = dirname(final);
    let committed = false;
    try {
      await staged.finish();
      observer.onFsync?.(staged.path, 'file');
      await chmod(staged.path, (await getModes()).file).catch(() => undefined);
      await observer.onTempWritten?.(staged.path, final);
      throwIfAborted(opts.signal, `save ${final}`);
      await mkdir(dir, { recursive: true, mode: (await getModes()).dir }).catch((err: unknown) => {
        throw fsError(err, 'create directory', dir);
      });
      await commit(staged.path, final, opts.overwrite === true);
      committed = true;
    } finally {
      if (!committed) await staged.discard();
    }
    await syncDir(dir);
  }

  const backend: Backend = {
    location: root,

    stage(type: FileType): StagedFile {
      const dir = type === 'config' ? root : join(root, TYPE_DIRS[type]);
      const mode = (modes ?? PRIVATE_MODES).dir;
      return new LocalStagedFile(backend, join(dir, tempNameFor('staged')), dir, mode);
    },

    async create() {
      const m = await getModes();
      const mkdirs = (dirs: string[]) =>
        Promise.all(
          dirs.map((dir) =>
            mkdir(dir, { recursive: true, mode: m.dir }).catch((err: unknown) => {
              throw fsError(err, 'create directory', dir);
            }),
          ),
        );
      await mkdirs(Object.values(TYPE_DIRS).map((d) => join(root, d)));
      await mkdirs(shardNames().map((s) => join(root, TYPE_DIRS.pack, s)));
      await cleanupTempFiles(root);
    },

    async hasConfig() {
      return exists(join(root, 'config'));
    },

    async save(h: Handle, data: SaveData, opts: SaveOptions = {}) {
      checkHandle(h);
      if (isStagedFile(data)) return saveStaged(h, data, opts);
      const final = pathOf(h);
      throwIfAborted(opts.signal, `save ${final}`);
      const dir = dirname(final);
      const tmp = join(dir, tempNameFor(basename(final)));
      let committed = false;
      try {
        await writeTemp(await openTemp(dir, tmp), tmp, data);
        await observer.onTempWritten?.(tmp, final);
        throwIfAborted(opts.signal, `save ${final}`);
        await commit(tmp, final, opts.overwrite === true);
        committed = true;
      } finally {
        if (!committed) await unlink(tmp).catch(() => undefined);
      }
      await syncDir(dir);
    },

    async load(h: Handle, range?: LoadRange, signal?: AbortSignal) {
      checkHandle(h);
      const path = pathOf(h);
      const r = checkRange(range, path);
      throwIfAborted(signal, `load ${path}`);
      const read = async (fh: FileHandle) => {
        const length = r.length ?? resolveRange(r, (await fh.stat()).size, path).length;
        // One buffer (the caller's when it fits), filled in place by positioned reads
        // (normally a single one).
        const buf =
          range?.into && range.into.length >= length
            ? range.into.subarray(0, length)
            : Buffer.allocUnsafe(length);
        let got = 0;
        while (got < length) {
          const { bytesRead } = await fh.read(buf, got, length - got, r.offset + got);
          if (bytesRead === 0) throw shortRead(path, r.offset, length, got);
          got += bytesRead;
        }
        return buf;
      };
      let opened = false;
      try {
        if (h.type === 'pack') {
          return await packHandles.use(path, (fh) => {
            opened = true;
            return read(fh);
          });
        }
        const fh = await open(path, 'r');
        opened = true;
        try {
          return await read(fh);
        } finally {
          await fh.close().catch(() => undefined); // read-only: nothing can be lost
        }
      } catch (err) {
        throw fsError(err, opened ? 'read' : 'open', path);
      }
    },

    async stat(h: Handle): Promise<FileInfo> {
      checkHandle(h);
      const path = pathOf(h);
      try {
        return { name: h.type === 'config' ? 'config' : h.name, size: (await stat(path)).size };
      } catch (err) {
        throw fsError(err, 'stat', path);
      }
    },

    async remove(h: Handle) {
      checkHandle(h);
      const path = pathOf(h);
      if (h.type === 'pack') await packHandles.drop(path);
      try {
        await unlink(path);
      } catch (err) {
        if (errnoCode(err) !== 'ENOENT') throw fsError(err, 'remove', path);
      }
    },

    async *list(type: FileType, signal?: AbortSignal): AsyncIterable<FileInfo> {
      if (type === 'config') {
        const path = join(root, 'config');
        const size = await stat(path).then(
          (st) => st.size,
          (err: unknown) => {
            if (errnoCode(err) === 'ENOENT') return undefined;
            throw fsError(err, 'stat', path);
          },
        );
        if (size !== undefined) yield { name: 'config', size };
        return;
      }
      if (!Object.hasOwn(TYPE_DIRS, type)) {
        throw new LifeboatError('INVALID_ARGUMENT', `unknown file type ${JSON.stringify(type)}`);
      }
      const top = join(root, TYPE_DIRS[type]);
      const dirs = type === 'pack' ? await listShardDirs(top) : [top];
      for (const dir of dirs) {
        throwIfAborted(signal, `list ${top}`);
        yield* await listFiles(dir, type === 'pack' ? basename(dir) : '');
      }
    },

    async close() {
      await packHandles.closeAll();
    },
  };
  return backend;
}

/** IOV_MAX on Linux: the most buffers one writev call takes. */
const IOV_MAX = 1024;

/**
 * Writes the parts back to back with as few system calls as possible (a pack is thousands
 * of small blobs); a short writev is finished part by part.
 */
async function writeAll(fh: FileHandle, parts: readonly Uint8Array[]): Promise<void> {
  let position = 0;
  for (let i = 0; i < parts.length; i += IOV_MAX) {
    const batch = parts.slice(i, i + IOV_MAX);
    const length = batch.reduce((n, p) => n + p.byteLength, 0);
    let written = (await fh.writev(batch, position)).bytesWritten;
    let skip = written;
    for (const part of written < length ? batch : []) {
      if (skip >= part.byteLength) {
        skip -= part.byteLength;
        continue;
      }
      for (let done = skip; done < part.byteLength;) {
        const at = position + written;
        const n = (await fh.write(part, done, part.byteLength - done, at)).bytesWritten;
        done += n;
        written += n;
      }
      skip = 0;
    }
    position += length;
  }
}
