/**
 * Directory listing for the local backend. Only regular files named by a 64-hex id are
 * reported: temp files (`.tmp-*`, restic's `*-tmp-*`), editor droppings and anything else
 * a person may have put into the repository are invisible, so they can never be mistaken
 * for repository files.
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { FileInfo } from '../backend.js';
import { isValidId } from '../handle.js';
import { errnoCode, fsError } from './fs-error.js';

const SHARD = /^[0-9a-f]{2}$/;

async function names(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return [];
    throw fsError(err, 'read directory', dir);
  }
}

/** The shard directories below `data/` (a pack's shard is the first byte of its id). */
export async function listShardDirs(dataDir: string): Promise<string[]> {
  return (await names(dataDir)).filter((n) => SHARD.test(n)).map((n) => join(dataDir, n));
}

/**
 * Id-named regular files in `dir` with their sizes. With a `prefix` (the shard name) a pack
 * stored in the wrong shard is skipped: no handle could address it.
 */
export async function listFiles(dir: string, prefix: string): Promise<FileInfo[]> {
  const ids = (await names(dir)).filter((n) => isValidId(n) && n.startsWith(prefix));
  const infos = await Promise.all(
    ids.map(async (name): Promise<FileInfo | undefined> => {
      const path = join(dir, name);
      try {
        const st = await stat(path);
        return st.isFile() ? { name, size: st.size } : undefined;
      } catch (err) {
        if (errnoCode(err) === 'ENOENT') return undefined; // removed while listing
        throw fsError(err, 'stat', path);
      }
    }),
  );
  return infos.filter((i) => i !== undefined);
}
