/**
 * Reads a recovering server's log (lc_messages=C, as startServer forces) for the facts a PITR
 * report needs and for why a recovery failed. Message texts are PostgreSQL 15's
 * (xlogrecovery.c, xlog.c); they have been stable since PostgreSQL 13.
 */
import { LifeboatError } from '../../core/errors.js';

export interface RecoveryFacts {
  /** The timeline the promoted server writes on ("selected new timeline ID: N"). */
  readonly timeline: number | null;
  /** Where replay stopped, as the server said it ("recovery stopping before commit of …"). */
  readonly stoppedAt: string | null;
  /** "last completed transaction was at log time …": the newest data in the copy (RPO). */
  readonly lastTransactionTime: string | null;
  /** The last WAL segment restore_command supplied. */
  readonly lastRestoredSegment: string | null;
}

function last(text: string, re: RegExp): RegExpMatchArray | null {
  return [...text.matchAll(new RegExp(re.source, `${re.flags.replace('g', '')}g`))].at(-1) ?? null;
}

export function recoveryFacts(log: string): RecoveryFacts {
  const tli = last(log, /selected new timeline ID: (\d+)/);
  return {
    timeline: tli ? Number(tli[1]) : null,
    stoppedAt: last(log, /LOG: {2}(recovery stopping [^\n]*)/)?.[1] ?? null,
    lastTransactionTime:
      last(log, /last completed transaction was at log time ([^\n]+)/)?.[1]?.trim() ?? null,
    lastRestoredSegment: last(log, /restored log file "([0-9A-F]{24})" from archive/)?.[1] ?? null,
  };
}

function tail(log: string, n = 12): string {
  return log.trimEnd().split('\n').slice(-n).join('\n');
}

/** The error for a server that exited during recovery, judged from its log. */
export function classifyRecoveryLog(log: string, dataDir: string): LifeboatError {
  const facts = recoveryFacts(log);
  const redo = last(log, /redo done at ([0-9A-F]+\/[0-9A-F]+)/)?.[1];
  const reached = redo ? ` (replay reached ${redo}` : ' (';
  const supplied = `${reached}${facts.lastRestoredSegment ? `, last segment restored: ${facts.lastRestoredSegment}` : ''})`;
  const details = { dataDir, ...facts, redoDoneAt: redo ?? null, logTail: tail(log) };
  if (log.includes('recovery ended before configured recovery target was reached')) {
    return new LifeboatError(
      'WAL_GAP',
      `the archived WAL ends before the recovery target${supplied}: the WAL up to the target is missing from the archive, or (for a time target) no transaction committed after that time yet`,
      { details },
    );
  }
  if (/WAL ends before (end of online backup|consistent recovery point)/.test(log)) {
    return new LifeboatError(
      'WAL_GAP',
      `the archived WAL ends before the end of the base backup${supplied}: the backup cannot be made consistent without the WAL written while it ran`,
      { details },
    );
  }
  if (log.includes('could not locate required checkpoint record')) {
    return new LifeboatError(
      'WAL_GAP',
      "the WAL segment holding the base backup's starting checkpoint is not in the archive (or restore_command cannot fetch it)",
      { details },
    );
  }
  if (log.includes('requested recovery stop point is before consistent recovery point')) {
    return new LifeboatError(
      'INVALID_ARGUMENT',
      `the recovery target lies before the end of the base backup${facts.stoppedAt ? ` (${facts.stoppedAt})` : ''}: use an older base backup`,
      { details },
    );
  }
  return new LifeboatError(
    'TOOL_FAILED',
    `postgres on ${dataDir} exited during recovery: ${tail(log, 8)}`,
    { details },
  );
}
