/**
 * Loads the blobs of many small files with few reads. Files backed up one after the other lie
 * next to each other in a pack, so neighbouring blobs of one pack are read as one range (a
 * gap of up to GAP bytes is read and dropped) and split afterwards: a thread-pool round trip
 * per blob cost a many-small-files restore more than the reads themselves (bench/).
 */
import type { BlobLocation } from '../blob.js';
import type { Repository } from '../repository.js';

/** Largest hole between two blobs that is read rather than split into two reads. */
const GAP = 64 * 1024;
/** Largest range read at once. */
const MAX_RANGE = 4 * 1024 * 1024;

/**
 * One promise per id, in order: the verified plaintext (an empty buffer for `undefined`, a
 * file without content). Each promise fails on its own (a missing or damaged blob); none is
 * left unhandled while the caller has not reached it yet.
 */
export function loadBlobBatch(
  repo: Repository,
  ids: readonly (string | undefined)[],
  signal?: AbortSignal,
): Promise<Buffer>[] {
  const out: Promise<Buffer>[] = new Array<Promise<Buffer>>(ids.length);
  const wanted: { at: number; loc: BlobLocation }[] = [];
  ids.forEach((id, at) => {
    if (id === undefined) {
      out[at] = Promise.resolve(Buffer.alloc(0));
      return;
    }
    try {
      wanted.push({ at, loc: repo.locate('data', id) });
    } catch (err) {
      out[at] = Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  });
  wanted.sort((a, b) =>
    a.loc.packId === b.loc.packId
      ? a.loc.offset - b.loc.offset
      : a.loc.packId < b.loc.packId
        ? -1
        : 1,
  );
  let run: typeof wanted = [];
  const flush = () => {
    if (run.length === 0) return;
    const first = run[0]!.loc;
    const last = run[run.length - 1]!.loc;
    const start = first.offset;
    const end = last.offset + last.length;
    const members = run;
    run = [];
    const raw = repo.loadPackRange(first, start, end - start, signal);
    for (const { at, loc } of members) {
      out[at] = raw.then((r) =>
        repo.openBlob(loc, r.subarray(loc.offset - start, loc.offset - start + loc.length)),
      );
    }
  };
  for (const w of wanted) {
    const prev = run[run.length - 1]?.loc;
    const start = run[0]?.loc.offset ?? 0;
    if (
      prev &&
      (prev.packId !== w.loc.packId ||
        w.loc.offset < prev.offset + prev.length ||
        w.loc.offset - (prev.offset + prev.length) > GAP ||
        w.loc.offset + w.loc.length - start > MAX_RANGE)
    ) {
      flush();
    }
    run.push(w);
  }
  flush();
  for (const p of out) p.catch(() => undefined);
  return out;
}
