/**
 * PostgreSQL write-ahead-log arithmetic and file names (issue 3, PITR): LSNs, segment file
 * names, timeline history files and which timeline holds which WAL. Pure logic; it never
 * touches the disk, so the repository side can list and check archived WAL with it.
 *
 * Facts from the PostgreSQL sources (src/include/access/xlog_internal.h, timeline.c):
 * - an LSN is a 64-bit byte position printed as "%X/%X" (high and low 32 bits);
 * - a segment file is named "TTTTTTTTXXXXXXXXYYYYYYYY": timeline, then the segment number
 *   split into "log" (segno / segments-per-4GiB) and "seg" (segno % segments-per-4GiB);
 * - the segment size is a power of two from 1 MiB to 1 GiB, fixed at initdb (default 16 MiB);
 * - "TTTTTTTT.history" lists, for every ancestor timeline, the LSN where it was left.
 */
import { LifeboatError } from '../../core/errors.js';

export const DEFAULT_WAL_SEGMENT_SIZE = 16 * 1024 * 1024;

const MAX_LSN = (1n << 64n) - 1n;
const MAX_TIMELINE = 0xffffffff;
const LSN_PATTERN = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/;
const SEGMENT_PATTERN = /^[0-9A-F]{24}$/;
const PARTIAL_PATTERN = /^[0-9A-F]{24}\.partial$/;
const HISTORY_PATTERN = /^[0-9A-F]{8}\.history$/;
const BACKUP_HISTORY_PATTERN = /^([0-9A-F]{24})\.([0-9A-F]{8})\.backup$/;

/** Names PostgreSQL gives files in its WAL archive. */
const WAL_FILE = /^(?:[0-9A-F]{24}(?:\.partial|\.[0-9A-F]{8}\.backup)?|[0-9A-F]{8}\.history)$/;

/** A segment, partial segment, timeline history or backup history file name. */
export function isWalFileName(name: string): boolean {
  return WAL_FILE.test(name);
}

function invalid(message: string): LifeboatError {
  return new LifeboatError('INVALID_ARGUMENT', message);
}

/** True for "16/B374D848"-style text (what PostgreSQL prints and accepts as pg_lsn). */
export function isLsn(text: string): boolean {
  return LSN_PATTERN.test(text);
}

/** "16/B374D848" → 0x16B374D848n. Throws INVALID_ARGUMENT for anything else. */
export function parseLsn(text: string): bigint {
  const m = LSN_PATTERN.exec(text);
  if (!m)
    throw invalid(
      `${JSON.stringify(text.slice(0, 40))} is not a WAL location (LSN) such as "16/B374D848"`,
    );
  return (BigInt(`0x${m[1]!}`) << 32n) | BigInt(`0x${m[2]!}`);
}

/** 0x16B374D848n → "16/B374D848", the way PostgreSQL prints it (upper case, no padding). */
export function formatLsn(lsn: bigint): string {
  if (lsn < 0n || lsn > MAX_LSN)
    throw invalid(`${String(lsn)} is outside the 64-bit WAL location range`);
  return `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffffffffn).toString(16).toUpperCase()}`;
}

/** Checks a WAL segment size: a power of two between 1 MiB and 1 GiB (initdb --wal-segsize). */
export function checkSegmentSize(size: number): number {
  const ok =
    Number.isInteger(size) && size >= 1 << 20 && size <= 1 << 30 && (size & (size - 1)) === 0;
  if (!ok)
    throw invalid(`${String(size)} is not a WAL segment size (a power of two from 1 MiB to 1 GiB)`);
  return size;
}

function checkTimeline(tli: number): number {
  if (!Number.isInteger(tli) || tli < 1 || tli > MAX_TIMELINE)
    throw invalid(`${String(tli)} is not a timeline ID`);
  return tli;
}

function hex8(n: number): string {
  return n.toString(16).toUpperCase().padStart(8, '0');
}

/** Segments per 4 GiB of WAL: the radix of the "log" and "seg" parts of a segment name. */
function segmentsPerId(segSize: number): number {
  return 0x100000000 / checkSegmentSize(segSize);
}

/** Number of the segment that holds the byte at `lsn`. Segment numbers stay below 2^44. */
export function segmentOfLsn(lsn: bigint, segSize = DEFAULT_WAL_SEGMENT_SIZE): number {
  formatLsn(lsn); // range check
  return Number(lsn / BigInt(checkSegmentSize(segSize)));
}

/** The byte range [start, end) of WAL held by a segment. */
export function segmentLsnRange(
  segno: number,
  segSize = DEFAULT_WAL_SEGMENT_SIZE,
): { start: bigint; end: bigint } {
  const size = BigInt(checkSegmentSize(segSize));
  const start = BigInt(segno) * size;
  return { start, end: start + size };
}

/** "000000010000000300000042" for timeline 1, segment 0x342 (16 MiB segments). */
export function segmentName(
  timeline: number,
  segno: number,
  segSize = DEFAULT_WAL_SEGMENT_SIZE,
): string {
  checkTimeline(timeline);
  const per = segmentsPerId(segSize);
  if (!Number.isSafeInteger(segno) || segno < 0 || segno >= per * 0x100000000) {
    throw invalid(`${String(segno)} is not a WAL segment number`);
  }
  return hex8(timeline) + hex8(Math.floor(segno / per)) + hex8(segno % per);
}

/** The name of the segment on `timeline` that holds the byte at `lsn`. */
export function segmentNameForLsn(
  timeline: number,
  lsn: bigint,
  segSize = DEFAULT_WAL_SEGMENT_SIZE,
): string {
  return segmentName(timeline, segmentOfLsn(lsn, segSize), segSize);
}

/** True for a full segment name: 24 upper-case hex digits (PostgreSQL's IsXLogFileName). */
export function isSegmentName(name: string): boolean {
  return SEGMENT_PATTERN.test(name);
}

/** True for "<segment>.partial": the last, incomplete segment of a timeline that was left. */
export function isPartialName(name: string): boolean {
  return PARTIAL_PATTERN.test(name);
}

/** True for "TTTTTTTT.history", the history file that starts a new timeline. */
export function isHistoryFileName(name: string): boolean {
  return HISTORY_PATTERN.test(name);
}

/** True for "<segment>.<offset>.backup", the backup history file written by pg_backup_stop. */
export function isBackupHistoryName(name: string): boolean {
  return BACKUP_HISTORY_PATTERN.test(name);
}

export function historyFileName(timeline: number): string {
  return `${hex8(checkTimeline(timeline))}.history`;
}

/**
 * Splits a segment name (or "<segment>.partial") into timeline and segment number. Throws
 * INVALID_ARGUMENT when the name is malformed or its "seg" part is too large for `segSize`.
 */
export function parseSegmentName(
  name: string,
  segSize = DEFAULT_WAL_SEGMENT_SIZE,
): { timeline: number; segno: number } {
  const base = isPartialName(name) ? name.slice(0, 24) : name;
  if (!isSegmentName(base))
    throw invalid(`${JSON.stringify(name.slice(0, 40))} is not a WAL segment file name`);
  const timeline = parseInt(base.slice(0, 8), 16);
  const log = parseInt(base.slice(8, 16), 16);
  const seg = parseInt(base.slice(16, 24), 16);
  const per = segmentsPerId(segSize);
  if (timeline === 0 || seg >= per) {
    throw invalid(
      `${name} is not a WAL segment file name for ${String(segSize >> 20)} MiB segments`,
    );
  }
  return { timeline, segno: log * per + seg };
}

/** The segment after `name` on the same timeline. */
export function nextSegmentName(name: string, segSize = DEFAULT_WAL_SEGMENT_SIZE): string {
  const { timeline, segno } = parseSegmentName(name, segSize);
  return segmentName(timeline, segno + 1, segSize);
}

/** The timeline of a "TTTTTTTT.history" file name. */
export function parseHistoryFileName(name: string): number {
  if (!isHistoryFileName(name))
    throw invalid(`${JSON.stringify(name.slice(0, 40))} is not a timeline history file name`);
  return checkTimeline(parseInt(name.slice(0, 8), 16));
}

/**
 * Splits "000000010000000000000002.00000028.backup" into the segment and the start LSN of the
 * backup it describes (segment start + offset).
 */
export function parseBackupHistoryName(
  name: string,
  segSize = DEFAULT_WAL_SEGMENT_SIZE,
): { segment: string; timeline: number; startLsn: bigint } {
  const m = BACKUP_HISTORY_PATTERN.exec(name);
  if (!m) throw invalid(`${JSON.stringify(name.slice(0, 40))} is not a backup history file name`);
  const segment = m[1]!;
  const offset = parseInt(m[2]!, 16);
  const { timeline, segno } = parseSegmentName(segment, segSize);
  if (offset >= segSize) throw invalid(`${name}: offset beyond the end of the segment`);
  return { segment, timeline, startLsn: segmentLsnRange(segno, segSize).start + BigInt(offset) };
}

/** One line of a timeline history file: timeline `parentTli` was left at `switchLsn`. */
export interface TimelineSwitch {
  readonly parentTli: number;
  readonly switchLsn: bigint;
  /** Why it was left, as the server wrote it ("no recovery target specified", "before 2024-…"). */
  readonly reason: string;
}

/** The WAL range [begin, end) a timeline contributes to a target timeline; `end` null = open. */
export interface TimelineSpan {
  readonly tli: number;
  readonly begin: bigint;
  readonly end: bigint | null;
}

function corrupt(message: string): LifeboatError {
  return new LifeboatError('INTEGRITY', `timeline history: ${message}`);
}

/**
 * Parses the text of a "TTTTTTTT.history" file the way the server does (timeline.c,
 * readTimeLineHistory): blank lines and "#" comments skipped, then "tli<TAB>X/X<TAB>reason";
 * timeline IDs must increase and switch points must not go backwards. Throws INTEGRITY.
 */
export function parseTimelineHistory(text: string): TimelineSwitch[] {
  const out: TimelineSwitch[] = [];
  for (const [index, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = /^(\d{1,10})\s+([0-9A-Fa-f]{1,8}\/[0-9A-Fa-f]{1,8})(?:\s+(.*))?$/.exec(line);
    if (!m)
      throw corrupt(
        `line ${index + 1} is not "timeline<TAB>LSN<TAB>reason": ${JSON.stringify(line.slice(0, 60))}`,
      );
    const parentTli = Number(m[1]);
    const switchLsn = parseLsn(m[2]!);
    const last = out.at(-1);
    if (parentTli < 1 || parentTli > MAX_TIMELINE)
      throw corrupt(`line ${index + 1}: ${m[1]!} is not a timeline ID`);
    if (last && parentTli <= last.parentTli)
      throw corrupt(`line ${index + 1}: timeline IDs must increase`);
    if (last && switchLsn < last.switchLsn)
      throw corrupt(`line ${index + 1}: switch points must not go backwards`);
    out.push({ parentTli, switchLsn, reason: m[3] ?? '' });
  }
  return out;
}

/**
 * The spans of WAL that make up `targetTli`, oldest first: each ancestor from where its
 * predecessor was left up to its own switch point, then the target itself, open-ended.
 * `history` is the content of the target's history file ([] for timeline 1).
 */
export function timelineSpans(
  history: readonly TimelineSwitch[],
  targetTli: number,
): TimelineSpan[] {
  checkTimeline(targetTli);
  const spans: TimelineSpan[] = [];
  let begin = 0n;
  for (const h of history) {
    if (h.parentTli >= targetTli) {
      throw corrupt(
        `timeline ${String(h.parentTli)} cannot be an ancestor of timeline ${String(targetTli)}`,
      );
    }
    spans.push({ tli: h.parentTli, begin, end: h.switchLsn });
    begin = h.switchLsn;
  }
  spans.push({ tli: targetTli, begin, end: null });
  return spans;
}

/**
 * The timeline whose WAL holds the byte at `lsn` on the way to `targetTli`. A switch point
 * belongs to the new timeline (as in the server's tliOfPointInHistory).
 */
export function timelineOfLsn(
  history: readonly TimelineSwitch[],
  targetTli: number,
  lsn: bigint,
): number {
  for (const s of timelineSpans(history, targetTli)) {
    if (lsn >= s.begin && (s.end === null || lsn < s.end)) return s.tli;
  }
  // Only reachable with a span list that has gaps, which timelineSpans never builds.
  throw new LifeboatError('INTERNAL', `no timeline holds ${formatLsn(lsn)}`);
}

/**
 * The timeline whose copy of segment `segno` recovery reads: the newest timeline that began
 * at or before that segment (xlogrecovery.c, XLogFileReadAnyTLI). The segment holding a switch
 * point therefore comes from the new timeline; the old timeline's copy is at most ".partial".
 */
export function timelineOfSegment(
  history: readonly TimelineSwitch[],
  targetTli: number,
  segno: number,
  segSize = DEFAULT_WAL_SEGMENT_SIZE,
): number {
  const spans = timelineSpans(history, targetTli);
  for (let i = spans.length - 1; i > 0; i--) {
    const s = spans[i]!;
    if (segmentOfLsn(s.begin, segSize) <= segno) return s.tli;
  }
  return spans[0]!.tli;
}

/**
 * The segment files recovery replays to get from `from` (a base backup's start) to `to` on
 * `targetTli`, in order: every segment holding a byte of [from, to], each named on the
 * timeline recovery reads it from. The minimum: a record that crosses past `to` needs more.
 */
export function segmentsBetween(
  history: readonly TimelineSwitch[],
  targetTli: number,
  from: bigint,
  to: bigint,
  segSize = DEFAULT_WAL_SEGMENT_SIZE,
): string[] {
  if (to < from)
    throw invalid(`WAL range ends (${formatLsn(to)}) before it starts (${formatLsn(from)})`);
  const first = segmentOfLsn(from, segSize);
  const last = segmentOfLsn(to, segSize);
  const names: string[] = [];
  for (let segno = first; segno <= last; segno++) {
    names.push(segmentName(timelineOfSegment(history, targetTli, segno, segSize), segno, segSize));
  }
  return names;
}
