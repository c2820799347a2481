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
import { isLifeboatError } from '../core/errors.js';

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
}

/** File content: one buffer, or parts to be stored back to back. */
export type SaveData = Uint8Array | readonly Uint8Array[];

/** The parts of SaveData as a list, and their total length. */
export function saveParts(data: SaveData): { parts: readonly Uint8Array[]; length: number } {
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

  /** `data` may be given in parts (written in order, without joining them in memory). */
  save(h: Handle, data: SaveData, options?: SaveOptions): Promise<void>;
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
