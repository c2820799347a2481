/**
 * Validation of handles and the restic directory layout, shared by every backend.
 *
 * restic design: every file except `config` is named by the lowercase hex SHA-256 of its
 * content, and packs are sharded by the first byte of the id (`data/<id[0:2]>/<id>`).
 * Accepting only that shape at the edge means no caller-supplied name can ever escape the
 * repository (`../x`, absolute paths, separators).
 */
import { LifeboatError } from '../core/errors.js';
import { FILE_TYPES, type FileType, type Handle } from './backend.js';

const ID_PATTERN = /^[0-9a-f]{64}$/;

/** Directory of each file type below the repository root (`config` lives at the root). */
export const TYPE_DIRS: Readonly<Record<Exclude<FileType, 'config'>, string>> = {
  key: 'keys',
  pack: 'data',
  index: 'index',
  snapshot: 'snapshots',
  lock: 'locks',
};

export const CONFIG_NAME = 'config';

/** True for a 64-character lowercase hex id, the only name a stored file may have. */
export function isValidId(name: string): boolean {
  return ID_PATTERN.test(name);
}

/** Throws INVALID_ARGUMENT unless the handle names a file type and (except config) an id. */
export function checkHandle(h: Handle): void {
  if (!FILE_TYPES.includes(h.type)) {
    throw new LifeboatError('INVALID_ARGUMENT', `unknown file type ${JSON.stringify(h.type)}`);
  }
  if (h.type !== 'config' && (typeof h.name !== 'string' || !isValidId(h.name))) {
    throw new LifeboatError(
      'INVALID_ARGUMENT',
      `invalid ${h.type} file name ${JSON.stringify(h.name)}: expected 64 lowercase hex digits`,
      { details: { type: h.type } },
    );
  }
}

/** Path of a (validated) handle relative to the repository root, with `/` separators. */
export function relativePath(h: Handle): string {
  if (h.type === 'config') return CONFIG_NAME;
  const dir = TYPE_DIRS[h.type];
  return h.type === 'pack' ? `${dir}/${h.name.slice(0, 2)}/${h.name}` : `${dir}/${h.name}`;
}

/** The 256 shard directory names `00`…`ff` below `data/`. */
export function shardNames(): string[] {
  return Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
}
