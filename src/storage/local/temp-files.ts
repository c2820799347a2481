/**
 * Temporary files of the local backend. save() writes `.tmp-<id>-<random>` next to the final
 * name and links it into place, so a crash can leave a temp file behind but never a partial
 * file under a real name. list() never reports temp files (their names are not ids); this
 * module removes the stale ones.
 */
import { randomBytes } from 'node:crypto';
import { readdir, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { TYPE_DIRS, shardNames } from '../handle.js';
import { errnoCode, fsError } from './fs-error.js';

const TEMP_PREFIX = '.tmp-';

/** One day: a temp file this old cannot belong to a save that is still running. */
export const STALE_TEMP_AGE_MS = 24 * 60 * 60 * 1000;

export function tempNameFor(finalName: string): string {
  return `${TEMP_PREFIX}${finalName}-${randomBytes(6).toString('hex')}`;
}

export function isTempName(name: string): boolean {
  return name.startsWith(TEMP_PREFIX);
}

export interface CleanupOptions {
  /** Remove temp files whose mtime is older than this; default one day. */
  maxAgeMs?: number;
  /** The current time in ms, for tests. */
  now?: number;
}

/**
 * Removes stale `.tmp-*` files from every directory of the repository at `root` (the root,
 * each type directory and all data shards). Returns how many were removed. Directories
 * that do not exist are skipped; files vanishing meanwhile are not an error.
 */
export async function cleanupTempFiles(
  root: string,
  options: CleanupOptions = {},
): Promise<number> {
  const cutoff = (options.now ?? Date.now()) - (options.maxAgeMs ?? STALE_TEMP_AGE_MS);
  const dirs = [root, ...Object.values(TYPE_DIRS).map((d) => join(root, d))];
  dirs.push(...shardNames().map((s) => join(root, TYPE_DIRS.pack, s)));
  let removed = 0;
  for (const dir of dirs) {
    let names: string[];
    try {
      names = await readdir(dir);
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') continue;
      throw fsError(err, 'read directory', dir);
    }
    for (const name of names.filter(isTempName)) {
      const path = join(dir, name);
      try {
        if ((await stat(path)).mtimeMs >= cutoff) continue;
        await unlink(path);
        removed++;
      } catch (err) {
        if (errnoCode(err) !== 'ENOENT') throw fsError(err, 'remove temp file', path);
      }
    }
  }
  return removed;
}
