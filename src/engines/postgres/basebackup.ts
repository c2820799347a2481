/**
 * A physical base backup streamed as one tar (issue 3, PITR): `pg_basebackup -D - -F tar
 * -X none`. The stream goes to the repository as it comes; where its WAL starts and stops is
 * read from the backup_label and backup_manifest members as they pass, because with -X none
 * pg_basebackup prints neither, and stderr text would depend on the client's language.
 *
 * Why -X none: WAL reaches the repository continuously (archive_command or pg_receivewal),
 * and recovery fetches it from there. -X fetch would put a copy inside the tar (stored twice);
 * -X stream cannot write to stdout at all ("cannot stream write-ahead logs in tar mode to
 * stdout"). With -X none the server ends the backup only once the last segment it needs is
 * archived (when archive_mode is on), so a finished backup is restorable from the archive.
 * The manifest stays on: pg_basebackup puts it into the tar when writing to stdout, it is what
 * pg_verifybackup checks a restored copy against, and it carries the stop point.
 */
import { isLifeboatError, LifeboatError } from '../../core/errors.js';
import { toolOutput } from '../tool.js';
import { parseBackupLabel, parseManifestWalRanges } from './backup-label.js';
import {
  classifyPgFailure,
  compilePgConnection,
  openPgSession,
  pgTool,
  type PgConnection,
  type PgSettings,
} from './connection.js';
import { identifySystem } from './identify-system.js';
import { createTarWatcher } from './tar-watch.js';
import { formatLsn, segmentName, segmentOfLsn } from './wal-names.js';

export interface BaseBackupOptions {
  /** backup_label's LABEL (default "lifeboat base backup"): printable, at most 1000 bytes. */
  readonly label?: string;
  /** Checkpoint right away (default) or spread it out to spare the server's I/O. */
  readonly checkpoint?: 'fast' | 'spread';
  readonly signal?: AbortSignal;
}

export interface BaseBackupInfo {
  readonly label: string;
  readonly startLsn: bigint;
  readonly startTimeline: number;
  /** The segment that holds the start: the first one recovery needs. */
  readonly startSegment: string;
  readonly stopLsn: bigint;
  readonly stopTimeline: number;
  /** The segment that holds the last byte of WAL the backup needs to become consistent. */
  readonly stopSegment: string;
  readonly walSegmentSize: number;
  /** The cluster's system identifier: WAL from any other cluster does not fit this backup. */
  readonly systemIdentifier: string;
}

export interface BaseBackupStream {
  /**
   * The tar archive (PGDATA of the default tablespace, backup_label, backup_manifest). Iterate
   * once. Completes normally only if pg_basebackup exited 0 and the archive was whole.
   */
  readonly stream: AsyncIterable<Uint8Array>;
  /**
   * Settles when the stream ends: resolves only after pg_basebackup exited 0, rejects with the
   * stream's error, or with CANCELLED when the consumer stopped early. Never settles if the
   * stream is never iterated.
   */
  readonly info: Promise<BaseBackupInfo>;
}

const DEFAULT_LABEL = 'lifeboat base backup';

function checkLabel(label: string): string {
  // backup_label is line-oriented; a line break would forge its other fields.
  if (label === '' || /\p{Cc}/u.test(label) || Buffer.byteLength(label) > 1000) {
    throw new LifeboatError(
      'INVALID_ARGUMENT',
      'base backup label: 1 to 1000 bytes of printable text',
    );
  }
  return label;
}

function classify(stderr: string): ReturnType<typeof classifyPgFailure> {
  if (/can only write single tablespace to stdout/.test(stderr)) return 'UNSUPPORTED';
  if (/must be superuser or (have the REPLICATION attribute|replication role)/.test(stderr))
    return 'UNREACHABLE';
  return classifyPgFailure(stderr);
}

/**
 * Starts nothing until `stream` is iterated; validates the connection and options at once
 * (INVALID_ARGUMENT). The user needs the REPLICATION attribute and a pg_hba "replication" line.
 */
export function streamBaseBackup(
  conn: PgConnection,
  opts: BaseBackupOptions = {},
): BaseBackupStream {
  const settings = compilePgConnection(conn);
  const label = checkLabel(opts.label ?? DEFAULT_LABEL);
  let resolve!: (info: BaseBackupInfo) => void;
  let reject!: (err: unknown) => void;
  const info = new Promise<BaseBackupInfo>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  info.catch(() => undefined); // the stream reports the same error; nobody has to await info
  return { stream: run(settings, label, opts, resolve, reject), info };
}

async function* run(
  settings: PgSettings,
  label: string,
  opts: BaseBackupOptions,
  resolve: (info: BaseBackupInfo) => void,
  reject: (err: unknown) => void,
): AsyncGenerator<Uint8Array> {
  let settled = false;
  try {
    await using session = await openPgSession(settings);
    const system = await identifySystem(settings, session, opts.signal);
    const watcher = createTarWatcher([
      { name: 'backup_label', keep: 'head', limit: 64 * 1024 },
      // WAL-Ranges sit at the very end of the manifest, which grows with the file count.
      { name: 'backup_manifest', keep: 'tail', limit: 64 * 1024 },
    ]);
    const args = ['-D', '-', '-F', 'tar', '-X', 'none', '-w', `--label=${label}`];
    args.push(`--checkpoint=${opts.checkpoint ?? 'fast'}`);
    const output = toolOutput(
      {
        command: pgTool(settings, 'pg_basebackup'),
        args,
        env: session.env(),
        what: `base backup of ${settings.label}`,
        classify,
      },
      opts.signal,
    );
    try {
      for await (const chunk of output) {
        watcher.push(chunk);
        yield chunk;
      }
    } catch (e) {
      if (isLifeboatError(e, 'UNSUPPORTED')) {
        throw new LifeboatError(
          'UNSUPPORTED',
          `base backup of ${settings.label}: the cluster has tablespaces outside its data directory, which a base backup streamed as one tar cannot hold`,
          { cause: e },
        );
      }
      throw e;
    }
    const files = watcher.finish();
    const result = describe(files, label, system.walSegmentSize, system.systemIdentifier);
    settled = true;
    resolve(result);
  } catch (e) {
    settled = true;
    reject(e);
    throw e;
  } finally {
    if (!settled)
      reject(
        new LifeboatError('CANCELLED', `base backup of ${settings.label}: stopped before its end`),
      );
  }
}

function describe(
  files: Map<string, Buffer>,
  label: string,
  segSize: number,
  systemIdentifier: string,
): BaseBackupInfo {
  const labelText = files.get('backup_label');
  const manifest = files.get('backup_manifest');
  if (!labelText)
    throw new LifeboatError('INTEGRITY', 'base backup: the archive holds no backup_label');
  if (!manifest)
    throw new LifeboatError('INTEGRITY', 'base backup: the archive holds no backup_manifest');
  const start = parseBackupLabel(labelText.toString('utf8'));
  const ranges = parseManifestWalRanges(manifest.toString('utf8'));
  const end = ranges.reduce((a, b) => (b.endLsn > a.endLsn ? b : a));
  if (end.endLsn < start.startLsn) {
    throw new LifeboatError(
      'INTEGRITY',
      `base backup: stop ${formatLsn(end.endLsn)} lies before start ${formatLsn(start.startLsn)}`,
    );
  }
  return {
    label: start.label || label,
    startLsn: start.startLsn,
    startTimeline: start.startTimeline,
    startSegment: start.startSegment,
    stopLsn: end.endLsn,
    stopTimeline: end.timeline,
    // The segment with the byte just before the stop point (the server's XLByteToPrevSeg).
    stopSegment: segmentName(
      end.timeline,
      segmentOfLsn(end.endLsn > 0n ? end.endLsn - 1n : 0n, segSize),
      segSize,
    ),
    walSegmentSize: segSize,
    systemIdentifier,
  };
}
