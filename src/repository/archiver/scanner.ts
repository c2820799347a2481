/**
 * Counts the files and bytes a backup will read, in the background, so progress can show a
 * total and an ETA (restic runs the same kind of scanner beside its archiver). It only stats
 * entries; a failure just leaves the totals unknown.
 */
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { ExcludeMatcher } from './exclude.js';

export interface ScanTotals {
  files: number;
  bytes: number;
}

export async function scanTotals(
  targets: readonly string[],
  excludes: ExcludeMatcher,
  oneFileSystem: boolean,
  stop: AbortSignal,
): Promise<ScanTotals | undefined> {
  const totals: ScanTotals = { files: 0, bytes: 0 };
  const walk = async (path: string, dev: number, isTarget: boolean): Promise<void> => {
    if (stop.aborted) return;
    const st = await lstat(path).catch(() => undefined);
    if (!st || (!isTarget && oneFileSystem && st.dev !== dev)) return;
    if (st.isFile()) {
      totals.files++;
      totals.bytes += st.size;
    } else if (st.isDirectory()) {
      const names = await readdir(path).catch(() => [] as string[]);
      for (const name of names) {
        const child = join(path, name);
        if (!excludes.matches(child)) await walk(child, dev, false);
      }
    }
  };
  for (const t of targets) {
    const st = await lstat(t).catch(() => undefined);
    if (st) await walk(t, st.dev, true);
  }
  return stop.aborted ? undefined : totals;
}
