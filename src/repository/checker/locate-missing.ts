/**
 * Finding blobs in packs that no index lists, by reading those packs' headers (restic design,
 * "Pack Format": the header lists every blob in the pack). Used by check to tell a lost index
 * file, whose data can be recovered by rebuilding the index, from data that is really gone.
 */
import { mapLimit } from '../../core/concurrency.js';
import { readPackHeader } from '../pack/read-pack-header.js';
import type { Repository } from '../repository.js';

/**
 * Reads the header of each pack in `packs` (id → size) and returns, for every key in `wanted`
 * (blob type + id, e.g. `data<hex>`), the first pack that holds it. Packs whose header cannot
 * be read are skipped: they are reported elsewhere or hold nothing useful.
 */
export async function locateInUnreferencedPacks(
  repo: Repository,
  packs: ReadonlyMap<string, number>,
  wanted: ReadonlySet<string>,
  signal?: AbortSignal,
): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  await mapLimit([...packs], 4, async ([packId, size]) => {
    let blobs;
    try {
      blobs = await readPackHeader(repo.backend, repo.key, packId, size, signal);
    } catch {
      signal?.throwIfAborted();
      return;
    }
    for (const b of blobs) {
      const key = b.type + b.id;
      if (wanted.has(key) && !found.has(key)) found.set(key, packId);
    }
  });
  return found;
}
