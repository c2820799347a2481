/**
 * Writes a base backup (one tar stream, as streamBaseBackup produced it) into a data
 * directory (untar.ts), owned by the OS user the restored server will run as. Refuses to write
 * over a directory that holds anything (TARGET_NOT_EMPTY) unless forced, and never touches
 * the data directory of a running server (TARGET_IN_USE), forced or not.
 */
import { access, chmod, chown, mkdir, readdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { LifeboatError } from '../../core/errors.js';
import { isRunning } from './server-control.js';
import { untar, type UntarStats } from './untar.js';

export interface ExtractOptions {
  /** Owner of the data directory and everything in it. */
  readonly owner?: { readonly uid: number; readonly gid: number };
  /** Empty a non-empty directory first (never one a live server uses). */
  readonly force?: boolean;
  readonly signal?: AbortSignal;
  /** Each chunk of the input stays valid until this many more were taken (untar.ts). */
  readonly reuseAfter?: number;
}

export interface ExtractResult {
  /** Whether a non-empty directory was emptied first (force). */
  readonly emptied: boolean;
  readonly stats: UntarStats;
}

/** Entries of `dir`, or null when it does not exist. Throws for a non-directory. */
async function entriesOf(dir: string): Promise<string[] | null> {
  try {
    return await readdir(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return null;
    if (code === 'ENOTDIR')
      throw new LifeboatError('TARGET_NOT_EMPTY', `${dir} exists and is not a directory`);
    throw new LifeboatError('IO', `cannot read ${dir}: ${(e as Error).message}`, { cause: e });
  }
}

async function emptyDir(dir: string): Promise<void> {
  // The directory itself stays: it may be a mount point, or have ownership set up by an admin.
  for (const name of (await entriesOf(dir)) ?? [])
    await rm(join(dir, name), { recursive: true, force: true });
}

/**
 * Extracts `tar` into `dataDir` (created if missing, ends mode 0700 and owned by `owner`).
 * Throws TARGET_IN_USE when postmaster.pid names a live process, TARGET_NOT_EMPTY when the
 * directory holds anything and `force` is not set, INTEGRITY when the archive is damaged,
 * unsafe (untar.ts) or not a PostgreSQL data directory. On any failure after writing
 * started, the directory is emptied again so no half-restored cluster is left to start.
 */
export async function extractTar(
  tar: AsyncIterable<Uint8Array>,
  dataDir: string,
  opts: ExtractOptions = {},
): Promise<ExtractResult> {
  const pid = await isRunning(dataDir);
  if (pid !== null) {
    throw new LifeboatError(
      'TARGET_IN_USE',
      `${dataDir} is the data directory of a running PostgreSQL server (pid ${String(pid)}); stop it first`,
      { details: { dataDir, pid } },
    );
  }
  const before = await entriesOf(dataDir);
  const emptied = before !== null && before.length > 0;
  if (emptied && opts.force !== true) {
    throw new LifeboatError(
      'TARGET_NOT_EMPTY',
      `${dataDir} is not empty (${String(before.length)} entries); restore into an empty directory or force it`,
      { details: { dataDir } },
    );
  }
  if (emptied) await emptyDir(dataDir);
  // Parents get ordinary modes (the owner must be able to reach dataDir); dataDir itself 0700.
  await mkdir(dirname(dataDir), { recursive: true });
  await mkdir(dataDir, { mode: 0o700 }).catch((e: unknown) => {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  });
  if (opts.owner) await chown(dataDir, opts.owner.uid, opts.owner.gid);
  // PostgreSQL refuses to start on a data directory open to group or others.
  await chmod(dataDir, 0o700);
  let stats: UntarStats;
  try {
    // Files belong to `owner` (or to us), never to the uids recorded on the source host.
    stats = await untar(tar, dataDir, {
      ...(opts.owner ? { owner: opts.owner } : {}),
      ...(opts.reuseAfter === undefined ? {} : { reuseAfter: opts.reuseAfter }),
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    await checkDataDir(dataDir);
    await chmod(dataDir, 0o700);
  } catch (e) {
    await emptyDir(dataDir).catch(() => undefined);
    throw e;
  }
  return { emptied, stats };
}

async function checkDataDir(dataDir: string): Promise<void> {
  for (const file of ['PG_VERSION', 'global/pg_control']) {
    try {
      await access(join(dataDir, file));
    } catch {
      throw new LifeboatError(
        'INTEGRITY',
        `the extracted archive is not a PostgreSQL data directory: no ${file}`,
        {
          details: { dataDir },
        },
      );
    }
  }
}
