/**
 * Counts the files and bytes a backup will read, in the background, so progress can show a
 * total and an ETA (restic runs the same kind of scanner beside its archiver). It only stats
 * entries; a failure just leaves the totals unknown. Its calls are synchronous (see
 * nodeFromPath for why), in batches between which the event loop runs the backup itself.
 */
import { lstatSync, readdirSync } from 'node:fs';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { join } from 'node:path';
import type { ExcludeMatcher } from './exclude.js';

export interface ScanTotals {
  files: number;
  bytes: number;
}

/** Synchronous calls between two turns of the event loop. */
const BATCH = 256;

export async function scanTotals(
  targets: readonly string[],
  excludes: ExcludeMatcher,
  oneFileSystem: boolean,
  stop: AbortSignal,
): Promise<ScanTotals | undefined> {
  const totals: ScanTotals = { files: 0, bytes: 0 };
  let calls = 0;
  const lstatOrNot = async (path: string) => {
    if (++calls % BATCH === 0) await yieldToLoop();
    try {
      return lstatSync(path);
    } catch {
      return undefined;
    }
  };
  const walk = async (path: string, dev: number, isTarget: boolean): Promise<void> => {
    if (stop.aborted) return;
    const st = await lstatOrNot(path);
    if (!st || (!isTarget && oneFileSystem && st.dev !== dev)) return;
    if (st.isFile()) {
      totals.files++;
      totals.bytes += st.size;
    } else if (st.isDirectory()) {
      let names: string[] = [];
      try {
        names = readdirSync(path);
      } catch {
        // unreadable: counted as empty
      }
      for (const name of names) {
        const child = join(path, name);
        if (!excludes.matches(child)) await walk(child, dev, false);
      }
    }
  };
  for (const t of targets) {
    const st = await lstatOrNot(t);
    if (st) await walk(t, st.dev, true);
  }
  return stop.aborted ? undefined : totals;
}
