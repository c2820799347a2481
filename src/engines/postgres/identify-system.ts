/**
 * Asks a server, over a physical replication connection (the kind pg_basebackup and
 * pg_receivewal use, so the same REPLICATION user and pg_hba "replication" line suffice),
 * which cluster it is and how its WAL is cut: IDENTIFY_SYSTEM and SHOW wal_segment_size.
 * The system identifier ties archived WAL to the cluster it came from.
 */
import { LifeboatError } from '../../core/errors.js';
import { runTool } from '../tool.js';
import { classifyPsqlFailure, pgTool, type PgSession, type PgSettings } from './connection.js';
import { checkSegmentSize, parseLsn } from './wal-names.js';

export interface SystemIdentity {
  /** The cluster's unique 64-bit identifier, in decimal (as pg_controldata prints it). */
  readonly systemIdentifier: string;
  /** The timeline the server is on now. */
  readonly timeline: number;
  /** Its current WAL write position. */
  readonly walPosition: bigint;
  readonly walSegmentSize: number;
}

const UNITS: Record<string, number> = { kB: 1024, MB: 1024 ** 2, GB: 1024 ** 3 };

/** "16MB" → 16777216, as SHOW prints wal_segment_size. */
export function parseSegmentSizeSetting(text: string): number {
  const m = /^(\d+)(kB|MB|GB)?$/.exec(text.trim());
  if (!m)
    throw new LifeboatError(
      'TOOL_FAILED',
      `unexpected wal_segment_size ${JSON.stringify(text.slice(0, 40))}`,
    );
  return checkSegmentSize(Number(m[1]) * (m[2] ? UNITS[m[2]]! : 1));
}

export async function identifySystem(
  settings: PgSettings,
  session: PgSession,
  signal?: AbortSignal,
): Promise<SystemIdentity> {
  const { stdout } = await runTool(
    {
      command: pgTool(settings, 'psql'),
      // "replication=true" asks for a physical walsender; host, port and user come from PG*.
      args: [
        '-X',
        '-w',
        '-A',
        '-t',
        '-F',
        ',',
        '-d',
        'replication=true',
        '-c',
        'IDENTIFY_SYSTEM',
        '-c',
        'SHOW wal_segment_size',
      ],
      env: session.env(),
      what: `identifying the system (${settings.label})`,
      classify: classifyPsqlFailure,
    },
    signal ? { signal } : {},
  );
  const [identity, size] = stdout.trim().split('\n');
  const m = /^(\d+),(\d+),([0-9A-F]+\/[0-9A-F]+),/.exec(identity ?? '');
  if (!m || size === undefined) {
    throw new LifeboatError(
      'TOOL_FAILED',
      `IDENTIFY_SYSTEM on ${settings.label} gave unexpected output`,
      {
        details: { output: stdout.slice(0, 200) },
      },
    );
  }
  return {
    systemIdentifier: m[1]!,
    timeline: Number(m[2]),
    walPosition: parseLsn(m[3]!),
    walSegmentSize: parseSegmentSizeSetting(size),
  };
}
