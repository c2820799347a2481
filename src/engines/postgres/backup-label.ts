/**
 * Reads the two small texts that describe a physical base backup: backup_label (inside the
 * backup: where its WAL starts) and the backup history file "<segment>.<offset>.backup" the
 * server archives when the backup ends (the same lines plus where it stopped), and the
 * "WAL-Ranges" of backup_manifest. Formats from xlog.c (build_backup_content) and
 * backup_manifest.c.
 */
import { LifeboatError } from '../../core/errors.js';
import { isLsn, isSegmentName, parseLsn, parseSegmentName } from './wal-names.js';

export interface BackupLabel {
  readonly startLsn: bigint;
  /** The segment holding the start, as named in the label ("file …"). */
  readonly startSegment: string;
  readonly startTimeline: number;
  readonly checkpointLsn: bigint | null;
  readonly label: string;
  /** "primary" or "standby". */
  readonly backupFrom: string | null;
  readonly startTime: string | null;
  /** Present in backup history files only. */
  readonly stopLsn: bigint | null;
  readonly stopSegment: string | null;
  readonly stopTimeline: number | null;
}

function damaged(what: string, message: string): LifeboatError {
  return new LifeboatError('INTEGRITY', `${what}: ${message}`);
}

/** "0/2000028 (file 000000010000000000000002)" → LSN and segment name. */
function location(what: string, key: string, value: string): { lsn: bigint; segment: string } {
  const m = /^([0-9A-F]{1,8}\/[0-9A-F]{1,8}) \(file ([0-9A-F]{24})\)$/.exec(value);
  if (!m || !isSegmentName(m[2]!))
    throw damaged(what, `${key} is not "LSN (file SEGMENT)": ${JSON.stringify(value)}`);
  return { lsn: parseLsn(m[1]!), segment: m[2]! };
}

function timeline(
  what: string,
  key: string,
  value: string | undefined,
  fallback: number | null,
): number | null {
  if (value === undefined) return fallback;
  if (!/^\d{1,10}$/.test(value) || Number(value) < 1 || Number(value) > 0xffffffff) {
    throw damaged(what, `${key} is not a timeline ID: ${JSON.stringify(value)}`);
  }
  return Number(value);
}

/**
 * Parses backup_label or a backup history file. `what` names the source for errors. Throws
 * INTEGRITY when START WAL LOCATION is missing or any known field is malformed.
 */
export function parseBackupLabel(content: string, what = 'backup_label'): BackupLabel {
  const fields = new Map<string, string>();
  for (const line of content.split('\n')) {
    const i = line.indexOf(': ');
    // The first ": " ends the key; a label may itself contain ": ".
    if (i > 0 && !fields.has(line.slice(0, i))) fields.set(line.slice(0, i), line.slice(i + 2));
  }
  const startText = fields.get('START WAL LOCATION');
  if (startText === undefined) throw damaged(what, 'no START WAL LOCATION line');
  const start = location(what, 'START WAL LOCATION', startText);
  const stopText = fields.get('STOP WAL LOCATION');
  const stop = stopText === undefined ? null : location(what, 'STOP WAL LOCATION', stopText);
  const checkpoint = fields.get('CHECKPOINT LOCATION');
  if (checkpoint !== undefined && !/^[0-9A-F]{1,8}\/[0-9A-F]{1,8}$/.test(checkpoint)) {
    throw damaged(what, `CHECKPOINT LOCATION is not an LSN: ${JSON.stringify(checkpoint)}`);
  }
  const startTimeline = timeline(what, 'START TIMELINE', fields.get('START TIMELINE'), null);
  return {
    startLsn: start.lsn,
    startSegment: start.segment,
    // Servers before PostgreSQL 11 wrote no START TIMELINE; the segment name has it too.
    startTimeline: startTimeline ?? parseSegmentName(start.segment).timeline,
    checkpointLsn: checkpoint === undefined ? null : parseLsn(checkpoint),
    label: fields.get('LABEL') ?? '',
    backupFrom: fields.get('BACKUP FROM') ?? null,
    startTime: fields.get('START TIME') ?? null,
    stopLsn: stop?.lsn ?? null,
    stopSegment: stop?.segment ?? null,
    stopTimeline: timeline(
      what,
      'STOP TIMELINE',
      fields.get('STOP TIMELINE'),
      stop ? startTimeline : null,
    ),
  };
}

/**
 * One entry of backup_manifest's "WAL-Ranges": the WAL a backup needs on one timeline. There
 * is more than one only for a backup of a standby that changed timeline meanwhile; the server
 * lists them newest timeline first.
 */
export interface WalRange {
  readonly timeline: number;
  readonly startLsn: bigint;
  readonly endLsn: bigint;
}

/**
 * Finds the "WAL-Ranges" in the text of backup_manifest, or in its last bytes: the list is
 * written at the end, just before "Manifest-Checksum", so a tail of the file is enough.
 * Throws INTEGRITY when it is missing or malformed.
 */
export function parseManifestWalRanges(manifestTail: string): WalRange[] {
  const at = manifestTail.lastIndexOf('"WAL-Ranges"');
  if (at === -1)
    throw damaged('backup_manifest', 'no "WAL-Ranges" (manifest missing or truncated)');
  const open = manifestTail.indexOf('[', at);
  const close = manifestTail.indexOf(']', open);
  if (open === -1 || close === -1)
    throw damaged('backup_manifest', '"WAL-Ranges" is not a complete list');
  let raw: unknown;
  try {
    raw = JSON.parse(manifestTail.slice(open, close + 1));
  } catch {
    throw damaged('backup_manifest', '"WAL-Ranges" is not valid JSON');
  }
  if (!Array.isArray(raw) || raw.length === 0)
    throw damaged('backup_manifest', '"WAL-Ranges" is empty');
  return raw.map((r: unknown) => {
    const e = r as Record<string, unknown>;
    const tli = e.Timeline;
    const start = e['Start-LSN'];
    const end = e['End-LSN'];
    if (
      typeof tli !== 'number' ||
      typeof start !== 'string' ||
      typeof end !== 'string' ||
      !isLsn(start) ||
      !isLsn(end)
    ) {
      throw damaged('backup_manifest', `bad WAL range ${JSON.stringify(r)}`);
    }
    return { timeline: tli, startLsn: parseLsn(start), endLsn: parseLsn(end) };
  });
}
