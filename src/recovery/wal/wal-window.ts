/**
 * What the archived WAL of a service can recover (`lifeboat wal verify`, and the check a PITR
 * restore runs before it starts): from a base backup's start, follow the segments of the
 * newest timeline (through its ancestors, per its history file) until one is missing. A missing
 * segment with later WAL after it is a gap; recovery cannot cross it.
 */
import {
  DEFAULT_WAL_SEGMENT_SIZE,
  formatLsn,
  isHistoryFileName,
  isPartialName,
  isSegmentName,
  parseHistoryFileName,
  parseSegmentName,
  segmentLsnRange,
  segmentName,
  segmentOfLsn,
  timelineOfSegment,
  type TimelineSwitch,
} from '../../engines/postgres/wal-names.js';
import type { WalCatalog, WalEntry } from './wal-catalog.js';

export interface WalGap {
  /** The first missing segment. */
  readonly missing: string;
  /** How many consecutive segments are missing. */
  readonly count: number;
  /** The next segment that is there again. */
  readonly resumesAt: string;
}

export interface WalWindow {
  /** The timeline recovery follows: the newest one archived. */
  readonly timeline: number;
  /** Timelines with archived segments that are not on the followed timeline's path. */
  readonly forks: readonly number[];
  /** The segment recovery starts with (the base backup's start). */
  readonly firstSegment: string;
  /** The last segment recovery can read without a gap (null: not even the first one). */
  readonly lastSegment: string | null;
  /** True when `lastSegment` is only a partial copy (streamed, not yet complete). */
  readonly endsInPartial: boolean;
  /** Recovery can replay WAL up to (not including) this LSN, at most. */
  readonly endLsn: bigint;
  /** Missing segments after the window's end with WAL beyond them. */
  readonly gaps: readonly WalGap[];
  /** The files a restore needs, in order, each with the name to restore it under. */
  readonly files: readonly { entry: WalEntry; as: string }[];
}

/**
 * `histories` maps timeline → parsed content of its history file (only timelines > 1 have
 * one); the caller loads them from the repository. `startLsn` is the base backup's start.
 */
export function walWindow(
  catalog: WalCatalog,
  histories: ReadonlyMap<number, readonly TimelineSwitch[]>,
  startLsn: bigint,
  segSize = DEFAULT_WAL_SEGMENT_SIZE,
): WalWindow {
  type Slot = { full?: WalEntry; partial?: WalEntry };
  const segs = new Map<number, Map<number, Slot>>();
  let maxTli = 1;
  for (const [name, entry] of catalog.files) {
    if (isHistoryFileName(name)) {
      maxTli = Math.max(maxTli, parseHistoryFileName(name));
      continue;
    }
    if (!isSegmentName(name) && !isPartialName(name)) continue;
    const { timeline, segno } = parseSegmentName(name, segSize);
    maxTli = Math.max(maxTli, timeline);
    let byNo = segs.get(timeline);
    if (!byNo) segs.set(timeline, (byNo = new Map<number, Slot>()));
    const slot = byNo.get(segno) ?? {};
    if (isPartialName(name)) slot.partial = entry;
    else slot.full = entry;
    byNo.set(segno, slot);
  }
  const history = histories.get(maxTli) ?? [];
  const onPath = new Set([maxTli, ...history.map((h) => h.parentTli)]);
  const forks = [...segs.keys()].filter((t) => !onPath.has(t)).sort((a, b) => a - b);

  const files: { entry: WalEntry; as: string }[] = [];
  for (const tli of [...onPath].sort((a, b) => a - b)) {
    if (tli === 1) continue;
    const h = catalog.files.get(`${tli.toString(16).toUpperCase().padStart(8, '0')}.history`);
    if (h) files.push({ entry: h, as: h.name });
  }

  const first = segmentOfLsn(startLsn, segSize);
  const nameOf = (segno: number) =>
    segmentName(timelineOfSegment(history, maxTli, segno, segSize), segno, segSize);
  const slotOf = (segno: number) =>
    segs.get(timelineOfSegment(history, maxTli, segno, segSize))?.get(segno);
  let maxSegno = -1;
  for (const [tli, byNo] of segs) {
    if (!onPath.has(tli)) continue;
    for (const segno of byNo.keys()) maxSegno = Math.max(maxSegno, segno);
  }

  let segno = first;
  let last: number | null = null;
  let endsInPartial = false;
  for (; segno <= maxSegno; segno++) {
    const slot = slotOf(segno);
    if (slot?.full) {
      files.push({ entry: slot.full, as: nameOf(segno) });
      last = segno;
      continue;
    }
    if (slot?.partial) {
      // A streamed partial is the newest WAL there is; recovery reads it as the segment.
      files.push({ entry: slot.partial, as: nameOf(segno) });
      last = segno;
      endsInPartial = true;
      segno++;
    }
    break;
  }
  const gaps: WalGap[] = [];
  let missingFrom: number | null = null;
  for (; segno <= maxSegno; segno++) {
    const present = slotOf(segno) !== undefined;
    if (!present && missingFrom === null) missingFrom = segno;
    if (present && missingFrom !== null) {
      gaps.push({
        missing: nameOf(missingFrom),
        count: segno - missingFrom,
        resumesAt: nameOf(segno),
      });
      missingFrom = null;
    }
  }
  return {
    timeline: maxTli,
    forks,
    firstSegment: nameOf(first),
    lastSegment: last === null ? null : nameOf(last),
    endsInPartial,
    endLsn: last === null ? startLsn : segmentLsnRange(last, segSize).end,
    gaps,
    files,
  };
}

export function describeWindow(w: WalWindow): string {
  const end =
    w.lastSegment === null
      ? 'no WAL after the base backup start'
      : `WAL up to ${w.endsInPartial ? 'within ' : ''}${w.lastSegment}${w.endsInPartial ? ' (partial)' : ` (LSN ${formatLsn(w.endLsn)})`}`;
  return `timeline ${String(w.timeline)}: ${w.firstSegment} … ${end}`;
}
