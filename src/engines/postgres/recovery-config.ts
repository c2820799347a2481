/**
 * Turns an extracted base backup into a cluster that recovers to a point in time when it
 * starts (PostgreSQL 12+): recovery settings in postgresql.auto.conf, recovery.signal, no
 * standby.signal. Every target value is checked strictly first, because it ends up inside a
 * config file that the server parses (issue 3, "Bad input").
 */
import { constants } from 'node:fs';
import { lstat, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { LifeboatError } from '../../core/errors.js';
import { checkHost, checkPort } from '../validate.js';
import { isRunning } from './server-control.js';
import { isLsn } from './wal-names.js';

export type RecoveryTarget =
  /** Replay all the WAL the restore command can supply. */
  | { readonly kind: 'latest' }
  /** Stop as soon as the base backup is consistent (its end point): the backup alone. */
  | { readonly kind: 'immediate' }
  /** A timestamp with an explicit zone: "2024-05-01 12:00:00+02", "2024-05-01T10:00:00Z". */
  | { readonly kind: 'time'; readonly time: string }
  | { readonly kind: 'lsn'; readonly lsn: string }
  | { readonly kind: 'xid'; readonly xid: string }
  /** A restore point made with pg_create_restore_point(). */
  | { readonly kind: 'name'; readonly name: string };

export interface RecoveryConfig {
  /** Shell command the server runs to fetch "%f" into "%p" (PostgreSQL's restore_command). */
  readonly restoreCommand: string;
  readonly target: RecoveryTarget;
  /** Stop just after (true, the server's default) or just before the target; time/lsn/xid only. */
  readonly inclusive?: boolean;
  /** Timeline to follow: 'latest' (default), 'current' (the backup's), or a timeline ID. */
  readonly timeline?: 'latest' | 'current' | number;
  /**
   * What the server does at the target: 'promote' ends recovery there (with a checkpoint the
   * server waits for before it takes writes); 'pause' waits, read-only, for a promotion
   * (waitUntilPromoted with promoteAtTarget), which ends recovery without waiting for that
   * checkpoint. Without a target the server promotes at the end of the WAL either way.
   */
  readonly action: 'promote' | 'pause';
  /** Where the restored server listens, so it never takes the production server's place. */
  readonly port?: number;
  /** listen_addresses: "" (unix socket only), "*", or a comma-separated list of addresses. */
  readonly listenAddresses?: string;
  readonly socketDir?: string;
}

/** Settings this module owns; earlier lines for them are dropped from postgresql.auto.conf. */
const TARGET_KEYS = [
  'recovery_target',
  'recovery_target_lsn',
  'recovery_target_name',
  'recovery_target_time',
  'recovery_target_xid',
] as const;

function bad(message: string): LifeboatError {
  return new LifeboatError('INVALID_ARGUMENT', `recovery target: ${message}`);
}

const TIME_PATTERN =
  /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,6})?)? ?(Z|[+-](\d{2})(?::?(\d{2}))?)$/;

/** A timestamp PostgreSQL reads the same everywhere: calendar-valid, with an explicit zone. */
export function checkRecoveryTime(time: string): string {
  const m = TIME_PATTERN.exec(time);
  if (!m) {
    throw bad(
      `${JSON.stringify(time.slice(0, 60))} is not a timestamp with time zone such as "2024-05-01 12:00:00+02"`,
    );
  }
  const [year, month, day, hour, minute, second] = [m[1], m[2], m[3], m[4], m[5], m[6] ?? '0'].map(
    Number,
  ) as [number, number, number, number, number, number];
  const d = new Date(Date.UTC(year, month - 1, day, hour, minute, second));
  const calendarOk =
    d.getUTCFullYear() === year && d.getUTCMonth() === month - 1 && d.getUTCDate() === day;
  const clockOk = hour < 24 && minute < 60 && second < 60;
  const zoneOk = Number(m[8] ?? 0) <= 15 && Number(m[9] ?? 0) < 60;
  if (!calendarOk || !clockOk || !zoneOk || year < 1)
    throw bad(`${JSON.stringify(time)} is not a valid date and time`);
  return time;
}

function checkTarget(target: RecoveryTarget): [string, string] | undefined {
  switch (target.kind) {
    case 'latest':
      return undefined;
    case 'immediate':
      return ['recovery_target', 'immediate'];
    case 'time':
      // PostgreSQL 15 refuses a "Z" zone here (the abbreviation table is not loaded when the
      // setting is checked at startup) but takes the same instant written as "+00".
      return ['recovery_target_time', checkRecoveryTime(target.time).replace(/Z$/, '+00')];
    case 'lsn':
      if (!isLsn(target.lsn))
        throw bad(`${JSON.stringify(target.lsn.slice(0, 40))} is not an LSN such as "16/B374D848"`);
      return ['recovery_target_lsn', target.lsn];
    case 'xid': {
      // A 32-bit xid or a 64-bit one with epoch (pg_current_xact_id()); 0-2 are reserved.
      const ok = /^\d{1,20}$/.test(target.xid) && BigInt(target.xid) < 1n << 64n;
      if (!ok || (BigInt(target.xid) & 0xffffffffn) < 3n) {
        throw bad(`${JSON.stringify(target.xid.slice(0, 40))} is not a transaction ID`);
      }
      return ['recovery_target_xid', target.xid];
    }
    case 'name': {
      const ok = /^[^\p{Cc}'"\\]+$/u.test(target.name) && Buffer.byteLength(target.name) <= 63;
      if (!ok) {
        throw bad(
          `${JSON.stringify(target.name.slice(0, 70))} is not a restore point name: 1 to 63 bytes, no quotes, backslashes or control characters`,
        );
      }
      return ['recovery_target_name', target.name];
    }
  }
}

function checkListen(value: string): string {
  if (value === '' || value === '*') return value;
  for (const part of value.split(',')) checkHost('listen_addresses', part.trim(), false);
  return value;
}

function checkSocketDir(dir: string): string {
  // unix_socket_directories is a comma-separated list; one absolute path, nothing to split.
  if (!dir.startsWith('/') || /[,'"\\\p{Cc}]/u.test(dir)) {
    throw new LifeboatError(
      'INVALID_ARGUMENT',
      `socket directory ${JSON.stringify(dir)} must be an absolute path without commas, quotes or control characters`,
    );
  }
  return dir;
}

/** The settings to write, in order (validated). Pure; exported for tests. */
export function recoverySettings(config: RecoveryConfig): [string, string][] {
  const cmd = config.restoreCommand;
  if (cmd.trim() === '' || /[\p{Cc}]/u.test(cmd)) {
    throw new LifeboatError(
      'INVALID_ARGUMENT',
      'restore command: must be one line of printable text',
    );
  }
  const target = checkTarget(config.target);
  const tli = config.timeline ?? 'latest';
  if (typeof tli === 'number' && (!Number.isInteger(tli) || tli < 1 || tli > 0xffffffff)) {
    throw bad(`${String(tli)} is not a timeline ID`);
  }
  const settings: [string, string][] = [
    // A restored copy must never push WAL into the production archive: its new timeline's
    // history file and segments would land next to production's and could later collide with
    // the timeline a real failover picks, breaking PITR from that archive. Re-enable archiving
    // deliberately once a restored copy becomes the production server.
    ['archive_mode', 'off'],
    // Production's synchronous standbys are not there: commits would wait for them forever.
    ['synchronous_standby_names', ''],
    // Production's hooks for the end of recovery and for archive cleanup are not for a copy.
    ['recovery_end_command', ''],
    ['archive_cleanup_command', ''],
  ];
  if (config.port !== undefined) settings.push(['port', String(checkPort('port', config.port))]);
  if (config.listenAddresses !== undefined)
    settings.push(['listen_addresses', checkListen(config.listenAddresses)]);
  if (config.socketDir !== undefined)
    settings.push(['unix_socket_directories', checkSocketDir(config.socketDir)]);
  settings.push(['restore_command', cmd]);
  // Every target setting is cleared before the one chosen is set: the server refuses to start
  // when two are non-empty, and it assigns them in file order, so the clears come first.
  for (const key of TARGET_KEYS) if (key !== target?.[0]) settings.push([key, '']);
  if (target) settings.push(target);
  if (config.inclusive !== undefined)
    settings.push(['recovery_target_inclusive', config.inclusive ? 'on' : 'off']);
  settings.push(['recovery_target_timeline', String(tli)]);
  settings.push(['recovery_target_action', config.action]);
  // Without hot_standby a server told to pause shuts down instead.
  if (config.action === 'pause') settings.push(['hot_standby', 'on']);
  return settings;
}

const MARKER = '# Lifeboat: restored copy, point-in-time recovery';

/** A config-file string literal: single quotes doubled, backslashes doubled (guc-file.l). */
export function quoteConfValue(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
}

/**
 * postgresql.auto.conf with every earlier line for a setting in `settings` removed (so
 * repeated runs do not pile up) and the settings appended. Pure; exported for tests.
 */
export function renderAutoConf(existing: string, settings: readonly [string, string][]): string {
  const owned = new Set(settings.map(([k]) => k));
  const kept = existing.split('\n').filter((line) => {
    if (line === MARKER) return false;
    const key = /^\s*([A-Za-z_][A-Za-z0-9_.$]*)\s*(?:=|\s|$)/.exec(line)?.[1]?.toLowerCase();
    return key === undefined || !owned.has(key);
  });
  while (kept.length > 0 && kept.at(-1) === '') kept.pop();
  const block = settings.map(([k, v]) => `${k} = ${quoteConfValue(v)}`);
  return [...kept, MARKER, ...block, ''].join('\n');
}

/**
 * Writes the recovery settings into dataDir (which must not be in use by a running server:
 * TARGET_IN_USE) and arms recovery: recovery.signal created, standby.signal removed. Files
 * written keep the data directory's owner. Idempotent for the same config.
 */
export async function writeRecoveryConfig(dataDir: string, config: RecoveryConfig): Promise<void> {
  const settings = recoverySettings(config);
  const pid = await isRunning(dataDir);
  if (pid !== null) {
    throw new LifeboatError(
      'TARGET_IN_USE',
      `${dataDir} belongs to a running server (pid ${String(pid)}); stop it first`,
    );
  }
  const owner = await stat(dataDir);
  const file = join(dataDir, 'postgresql.auto.conf');
  // The directory came out of a backup that may be hostile and we may be root: never read
  // or write through a symbolic link planted there (untar.ts refuses them outside pg_tblspc;
  // this holds for a directory extracted any other way too).
  await refuseLink(file);
  let existing = '';
  try {
    existing = await readFile(file, {
      encoding: 'utf8',
      flag: constants.O_RDONLY | constants.O_NOFOLLOW,
    });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const temp = `${file}.lifeboat-tmp`;
  await rm(temp, { force: true }); // removes a link itself, never what it points to
  await writeOwned(temp, renderAutoConf(existing, settings), owner);
  await rename(temp, file);
  const signal = join(dataDir, 'recovery.signal');
  await rm(signal, { force: true });
  await writeOwned(signal, '', owner);
  // With standby.signal the server would wait for WAL forever instead of ending recovery.
  await rm(join(dataDir, 'standby.signal'), { force: true });
}

async function refuseLink(path: string): Promise<void> {
  const st = await lstat(path).catch(() => undefined);
  if (st && !st.isFile()) {
    throw new LifeboatError(
      'INTEGRITY',
      `${path} is not a regular file (a symbolic link or other entry in the restored data directory)`,
    );
  }
}

/** Creates `path` exclusively (O_EXCL: never through a link), writes it, owns it as `owner`. */
async function writeOwned(
  path: string,
  text: string,
  owner: { uid: number; gid: number },
): Promise<void> {
  const fh = await open(path, 'wx', 0o600);
  try {
    await fh.writeFile(text);
    await fh.chown(owner.uid, owner.gid);
  } finally {
    await fh.close();
  }
}
