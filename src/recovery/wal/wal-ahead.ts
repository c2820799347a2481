/**
 * Pushing WAL ahead of PostgreSQL's archiver. The archiver runs archive_command for one file
 * at a time, and each `lifeboat wal push` pays for starting Node, deriving the key (scrypt)
 * and loading the repository's snapshots and index: ~0.5 s. A base backup ends with two such
 * calls in a row (the last segment, then the backup history file), and pg_backup_stop checks
 * for them only once a second, so the second call alone could cost the backup a whole second.
 *
 * So a push that finds more files waiting (`<wal dir>/archive_status/<name>.ready`, written
 * by PostgreSQL when a file is complete) stores them too, in the same process, and leaves a
 * mark for each in a private directory: the file's SHA-256 and its snapshot. When the
 * archiver then asks for one of them, `wal push` reads the file, finds a mark with the same
 * hash and exits 0 without opening the repository. A mark is written only after its snapshot
 * is durable and is used once; a missing or stale mark just means a full push, which finds
 * the same bytes already archived. A mark also names where the file went (the plan file as it
 * was, or the repository given with -r): a changed plan or another repository ignores it. It
 * is trusted only while the snapshot file it names is still in the repository (a repository
 * restored from an older copy, initialised again or swapped behind a symlink lacks it) and
 * for MARK_TTL_MS; so marks are made for local repositories only.
 * Marks live in `<tmpdir>/lifeboat-wal-<uid>/<hash of WAL directory and service>/`, which
 * must belong to the user and be closed to others, or they are not used. The check needs
 * none of Lifeboat's heavy modules, so the CLI makes it before loading them (cli/wal-push-fast.ts).
 */
import { lstat, mkdir, readdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { isWalFileName } from '../../engines/postgres/wal-names.js';
import { sha256Hex } from '../../repository/ids.js';

/** Files pushed ahead by one call at most (the call that finds them waits for them). */
export const AHEAD_LIMIT = 8;

/** A mark older than this is not trusted (the archiver asks for a ready file within seconds). */
export const MARK_TTL_MS = 10 * 60 * 1000;

interface Mark {
  readonly source: string;
  readonly name: string;
  readonly size: number;
  readonly sha256: string;
  readonly snapshotId: string;
  /** The snapshot's file in the (local) repository: it must still exist. */
  readonly snapshotFile: string;
  /** When the mark was made (ms since the epoch). */
  readonly time: number;
}

/** Where marks go and what they record: see aheadSpool, markSource and localRepoDir. */
export interface AheadMarks {
  readonly spool: string;
  readonly source: string;
  /** The repository's directory (absolute). */
  readonly repoDir: string;
}

/**
 * The directory of a local repository location (a path, or `local:<path>`), absolute; undefined
 * for any other backend, whose snapshots a mark could not look for cheaply.
 */
export function localRepoDir(location: string): string | undefined {
  if (location.startsWith('local:')) return resolve(location.slice('local:'.length));
  return /^[a-z][a-z0-9+.-]+:/.test(location) ? undefined : resolve(location);
}

/**
 * Where a WAL file goes, as marks record it: the plan file (path, size and mtime: an edited
 * plan may name another repository) or the repository given with -r.
 */
export async function markSource(
  where: { plan: string } | { repo: string },
): Promise<string | undefined> {
  if ('repo' in where) {
    const dir = localRepoDir(where.repo);
    return dir === undefined ? undefined : `repo:${dir}`;
  }
  try {
    const path = resolve(where.plan);
    const st = await stat(path);
    return `plan:${path}:${String(st.size)}:${String(st.mtimeMs)}`;
  } catch {
    return undefined;
  }
}

/**
 * The directory of marks for the WAL directory of `walPath` and one service, created on
 * first use; undefined when it cannot be used safely (not ours, open to others, a symlink,
 * not creatable).
 */
export async function aheadSpool(
  walPath: string,
  service: string,
  base = tmpdir(),
): Promise<string | undefined> {
  const uid = process.getuid?.();
  if (uid === undefined) return undefined;
  const root = join(base, `lifeboat-wal-${String(uid)}`);
  const walDir = dirname(resolve(walPath));
  const key = sha256Hex(Buffer.from(`${walDir}\0${service}`)).slice(0, 16);
  const dir = join(root, key);
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    for (const d of [root, dir]) {
      const st = await lstat(d);
      if (!st.isDirectory() || st.uid !== uid || (st.mode & 0o077) !== 0) return undefined;
    }
    return dir;
  } catch {
    return undefined;
  }
}

/**
 * Consumes the mark for the WAL file at `path` if there is one: returns its snapshot id and
 * the file's size when the mark was made for exactly these bytes, else undefined (and a stale
 * mark is removed). The file is read only when a mark exists.
 */
export async function takeMark(
  spool: string,
  source: string,
  path: string,
): Promise<{ snapshotId: string; bytes: number } | undefined> {
  const name = basename(path);
  if (!isWalFileName(name)) return undefined;
  const markPath = join(spool, name);
  let mark: Partial<Mark>;
  try {
    mark = JSON.parse(await readFile(markPath, 'utf8')) as Partial<Mark>;
  } catch {
    return undefined;
  }
  await unlink(markPath).catch(() => undefined);
  const data = await readFile(path).catch(() => undefined);
  const same =
    data !== undefined &&
    mark.source === source &&
    mark.name === name &&
    mark.size === data.length &&
    typeof mark.snapshotId === 'string' &&
    mark.sha256 === sha256Hex(data) &&
    typeof mark.time === 'number' &&
    Date.now() - mark.time < MARK_TTL_MS &&
    typeof mark.snapshotFile === 'string' &&
    (await stat(mark.snapshotFile).then(
      (st) => st.isFile(),
      () => false,
    ));
  return same ? { snapshotId: mark.snapshotId!, bytes: data.length } : undefined;
}

/** Records that `name` with these bytes is stored as `snapshotId` (atomically, by rename). */
export async function writeMark(
  marks: AheadMarks,
  name: string,
  data: Uint8Array,
  snapshotId: string,
): Promise<void> {
  const mark: Mark = {
    source: marks.source,
    name,
    size: data.length,
    sha256: sha256Hex(data),
    snapshotId,
    snapshotFile: join(marks.repoDir, 'snapshots', snapshotId),
    time: Date.now(),
  };
  const temp = join(marks.spool, `.${name}.${String(process.pid)}.tmp`);
  await writeFile(temp, JSON.stringify(mark), { mode: 0o600 });
  await rename(temp, join(marks.spool, name));
}

/**
 * The other files PostgreSQL has marked ready to archive beside `walPath` (which is %p,
 * `pg_wal/<name>`), in the order its archiver takes them: timeline history files first, then
 * by name (oldest first). Empty when `walPath` is not in a directory with `archive_status`.
 */
export async function readyFiles(walPath: string, limit = AHEAD_LIMIT): Promise<string[]> {
  const dir = dirname(walPath);
  const own = basename(walPath);
  let entries: string[];
  try {
    entries = await readdir(join(dir, 'archive_status'));
  } catch {
    return [];
  }
  const names = entries
    .filter((e) => e.endsWith('.ready'))
    .map((e) => e.slice(0, -'.ready'.length))
    .filter((n) => n !== own && isWalFileName(n) && !n.endsWith('.partial'));
  const history = (n: string) => (n.endsWith('.history') ? 0 : 1);
  names.sort((a, b) => history(a) - history(b) || (a < b ? -1 : a > b ? 1 : 0));
  return names.slice(0, limit).map((n) => join(dir, n));
}
