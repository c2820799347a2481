/**
 * The storage contract every backend fulfils (local, mem; later sftp, s3).
 *
 * Files are addressed by a Handle: a type and a name. Names are lowercase hex ids, except for
 * the single `config` file whose name is ignored. The layout on disk/remote follows restic:
 * `config`, `keys/<id>`, `data/<id[0:2]>/<id>`, `index/<id>`, `snapshots/<id>`, `locks/<id>`.
 *
 * Semantics:
 * - save() is atomic: a reader sees either no file or the complete file, never a prefix, even
 *   if the process dies mid-write. When save() resolves the file is durable (fsync'd where
 *   the medium allows). Saving a name that already exists fails with code IO unless
 *   `overwrite` is set (only lock files and tests use it); files are otherwise write-once.
 * - load() returns exactly the requested range or fails; reading past the end is an
 *   INTEGRITY error ("short read"), not a silently shorter buffer.
 * - A missing file is reported by throwing LifeboatError code NOT_FOUND (see isNotFound).
 * - list() yields the names of one type in no particular order; for data files it
 *   walks every shard directory. It is read-after-write consistent: a file whose save()
 *   resolved is listed by every list() that starts afterwards (locking relies on this).
 * - remove() of a missing file is not an error (idempotent).
 * - All methods may be called concurrently. None of them retries: retry is a decorator.
 */
import { isLifeboatError, LifeboatError } from '../core/errors.js';

export type FileType = 'config' | 'key' | 'pack' | 'index' | 'snapshot' | 'lock';

export const FILE_TYPES: readonly FileType[] = [
  'config',
  'key',
  'pack',
  'index',
  'snapshot',
  'lock',
];

export interface Handle {
  type: FileType;
  /** Lowercase hex id; ignored for `config`. */
  name: string;
}

export interface FileInfo {
  name: string;
  size: number;
}

export interface LoadRange {
  offset: number;
  /** Bytes to read; undefined or 0 means "to the end". */
  length?: number;
  /**
   * A buffer to read into, of at least `length` bytes: load() then returns a view of it
   * instead of a new buffer (a reader that loads many packs reuses one). Backends may ignore it.
   */
  into?: Buffer;
}

const STAGED = Symbol('staged file');

/**
 * A file written before it has a name (a pack: its name is the hash of its bytes), from
 * Backend.stage(): bytes go to the medium as they come, so a pack is never held in memory,
 * and save(h, staged) then gives it its name with save()'s guarantees. Until then it is a temp
 * file that list() does not report.
 */
export interface StagedFile {
  readonly [STAGED]: true;
  /** Bytes written so far. */
  readonly size: number;
  /** Appends bytes; the caller may reuse them as soon as this returns. */
  write(data: Uint8Array): void;
  /** Deletes the file if it was not saved. Idempotent. */
  discard(): Promise<void>;
}

/** For backends implementing stage(): marks their staged-file objects. */
export const stagedFileBrand: typeof STAGED = STAGED;

export function isStagedFile(data: SaveData): data is StagedFile {
  return (data as Partial<StagedFile>)[STAGED] === true;
}

/** File content: one buffer, parts to be stored back to back, or a staged file. */
export type SaveData = Uint8Array | readonly Uint8Array[] | StagedFile;

/** The parts of SaveData as a list, and their total length; a staged file has none. */
export function saveParts(data: SaveData): { parts: readonly Uint8Array[]; length: number } {
  if (isStagedFile(data)) {
    throw new LifeboatError('INTERNAL', 'a staged file can only be saved by its own backend');
  }
  const parts = data instanceof Uint8Array ? [data] : data;
  return { parts, length: parts.reduce((n, p) => n + p.byteLength, 0) };
}

export interface SaveOptions {
  /** Replace an existing file (lock refresh, tests). */
  overwrite?: boolean;
  signal?: AbortSignal;
}

export interface Backend {
  /** Where the repository lives, with any password removed; safe to print. */
  readonly location: string;

  /** Creates the directory structure, if the medium has one. Idempotent. */
  create(): Promise<void>;
  /** True when a config file exists. */
  hasConfig(): Promise<boolean>;

  /**
   * `data` may be given in parts (written in order, without joining them in memory), or be a
   * file this backend staged.
   */
  save(h: Handle, data: SaveData, options?: SaveOptions): Promise<void>;
  /**
   * Optional: starts a staged file of this type (see StagedFile). Backends without it get
   * their files whole from save().
   */
  stage?(type: FileType): StagedFile;
  load(h: Handle, range?: LoadRange, signal?: AbortSignal): Promise<Buffer>;
  stat(h: Handle): Promise<FileInfo>;
  remove(h: Handle): Promise<void>;
  list(type: FileType, signal?: AbortSignal): AsyncIterable<FileInfo>;
  close(): Promise<void>;
}

/** Classifies a backend error as "the file does not exist". */
export function isNotFound(err: unknown): boolean {
  return isLifeboatError(err, 'NOT_FOUND');
}
