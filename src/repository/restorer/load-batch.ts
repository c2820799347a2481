/**
 * Plans the reads for the blobs of many small files. Files backed up one after the other lie
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

export interface RangeMember {
  /** Position of the blob's id in the request. */
  at: number;
  loc: BlobLocation;
}

/** One read: bytes [start, start + length) of the pack that holds `first`. */
export interface PackRange {
  first: BlobLocation;
  start: number;
  length: number;
  members: RangeMember[];
}

export interface RangePlan {
  ranges: PackRange[];
  /** Ids the index does not know (NOT_FOUND), by position. */
  unknown: { at: number; error: Error }[];
}

/** Groups the located ids (undefined entries are skipped) into as few range reads as fit. */
export function planRanges(repo: Repository, ids: readonly (string | undefined)[]): RangePlan {
  const unknown: RangePlan['unknown'] = [];
  const wanted: RangeMember[] = [];
  ids.forEach((id, at) => {
    if (id === undefined) return;
    try {
      wanted.push({ at, loc: repo.locate('data', id) });
    } catch (err) {
      unknown.push({ at, error: err instanceof Error ? err : new Error(String(err)) });
    }
  });
  wanted.sort((a, b) =>
    a.loc.packId === b.loc.packId
      ? a.loc.offset - b.loc.offset
      : a.loc.packId < b.loc.packId
        ? -1
        : 1,
  );
  const ranges: PackRange[] = [];
  let run: RangeMember[] = [];
  const flush = () => {
    if (run.length === 0) return;
    const first = run[0]!.loc;
    const last = run[run.length - 1]!.loc;
    ranges.push({
      first,
      start: first.offset,
      length: last.offset + last.length - first.offset,
      members: run,
    });
    run = [];
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
  return { ranges, unknown };
}
