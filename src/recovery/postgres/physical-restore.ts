/**
 * Point-in-time recovery of a PostgreSQL service (issue 3): pick a base backup that can reach
 * the target, check the archived WAL covers the way there, extract the base backup, write the
 * recovery settings, start PostgreSQL and, while it replays, bring the needed WAL out of the
 * repository (in parallel, one process) into the spool its restore_command waits on; then
 * wait until it has promoted and accepts connections.
 */
import { favourSpeedOverMemory } from '../favour-speed.js';
import { chown, mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { LifeboatError } from '../../core/errors.js';
import type { Progress } from '../../core/ports.js';
import type { OsUserIds } from '../../engines/os-user.js';
import { extractTar } from '../../engines/postgres/extract.js';
import type { RecoveryFacts } from '../../engines/postgres/recovery-log.js';
import {
  writeRecoveryConfig,
  type RecoveryTarget,
} from '../../engines/postgres/recovery-config.js';
import {
  isRunning,
  startServer,
  waitUntilPromoted,
} from '../../engines/postgres/server-control.js';
import { formatLsn, parseLsn } from '../../engines/postgres/wal-names.js';
import type { Repository } from '../../repository/repository.js';
import { openSnapshotFile } from '../../repository/snapshot-file.js';
import { loadSnapshot } from '../../repository/snapshot.js';
import { fetchWalFiles } from '../wal/wal-fetch.js';
import { BASE_FILE } from './base-backups.js';
import { prepareWalSpool } from './wal-spool.js';
import { loadWalStatus, type BaseWithWindow } from './wal-status.js';

export interface PitrRequest {
  /** The data directory to create (or, with force, to replace). */
  readonly dataDir: string;
  readonly port: number;
  readonly target: RecoveryTarget;
  /** Stop just before (false) or just after (true, default) a time/LSN/xid target. */
  readonly inclusive?: boolean;
  /** Restore this base backup (snapshot id prefix) instead of choosing one. */
  readonly base?: string;
  readonly force: boolean;
  readonly binDir: string;
  /** The server runs as this user (we may be root; PostgreSQL refuses to run as root). */
  readonly osUser?: OsUserIds;
  /** Unix-socket directory for the restored server (default /tmp). */
  readonly socketDir?: string;
  /** listen_addresses of the restored server (default 127.0.0.1: it is a copy, not production). */
  readonly listen?: string;
  readonly progress?: Progress;
  readonly signal?: AbortSignal;
  readonly onStep?: (step: string) => void;
}

export interface PitrResult {
  readonly baseSnapshot: string;
  readonly walFiles: number;
  readonly walBytes: number;
  readonly logFile: string;
  readonly pid: number;
  readonly port: number;
  readonly recovery: RecoveryFacts;
  readonly timings: {
    readonly extractMs: number;
    readonly recoveryMs: number;
    readonly totalMs: number;
  };
}

/** Blob buffers the base backup's extraction has in use (writing or written) at once. */
const EXTRACT_BUFFERS = 6;

/** WAL files fetched ahead of the one PostgreSQL is replaying (see wal-fetch.ts, pace). */
const WAL_AHEAD = 6;

// The restore command runs under /bin/sh; the spool path must need no quoting beyond "…".
const SAFE_PATH = /^\/[A-Za-z0-9_./@+-]*$/;

export async function restorePitr(
  repo: Repository,
  service: string,
  req: PitrRequest,
): Promise<PitrResult> {
  favourSpeedOverMemory();
  const started = Date.now();
  const { signal } = req;
  const step = req.onStep ?? (() => undefined);
  const dataDir = resolve(req.dataDir);
  if (!SAFE_PATH.test(dataDir)) {
    throw new LifeboatError(
      'INVALID_ARGUMENT',
      `data directory ${JSON.stringify(dataDir)}: use letters, digits and _ . / @ + - only`,
    );
  }
  // The index loads while the target is checked and the snapshots are read (the catalog of
  // base backups and WAL needs only the snapshots).
  const indexLoaded = repo.loadIndex(signal);
  indexLoaded.catch(() => undefined);
  const running = await isRunning(dataDir);
  if (running !== null) {
    throw new LifeboatError(
      'TARGET_IN_USE',
      `${dataDir} belongs to a running server (pid ${String(running)}); stop it first`,
    );
  }
  if (!req.force && (await nonEmpty(dataDir))) {
    throw new LifeboatError(
      'TARGET_NOT_EMPTY',
      `${dataDir} is not empty; use --force to replace it`,
    );
  }

  const status = await loadWalStatus(repo, service, signal);
  await indexLoaded;
  const chosen = chooseBase(status.bases, req);
  const { window } = chosen;
  checkReach(chosen, req.target);
  step(
    `base backup ${chosen.base.snapshotId.slice(0, 8)} (${chosen.base.time}); WAL ${window.firstSegment} … ${window.lastSegment ?? '-'}${window.endsInPartial ? ' (partial)' : ''}`,
  );

  const files = window.files;
  await mkdir(dirname(dataDir), { recursive: true });
  const spool = await mkdtemp(join(dirname(dataDir), `.${basename(dataDir)}-wal-`));
  try {
    if (req.osUser) await chown(spool, req.osUser.uid, req.osUser.gid);
    const snap = await loadSnapshot(repo, chosen.base.snapshotId);
    // The extraction is done with each buffer once it has taken EXTRACT_BUFFERS more.
    const tar = await openSnapshotFile(repo, snap, `/${BASE_FILE}`, signal, EXTRACT_BUFFERS);
    const t0 = Date.now();
    // The base backup first, alone; then PostgreSQL replays while the WAL comes out of the
    // repository into the spool beside it (wal-spool.ts): the fetch no longer competes with
    // the extraction for the two cores, and the replay no longer waits for all of it.
    await extractTar(tar.content, dataDir, {
      force: req.force,
      reuseAfter: EXTRACT_BUFFERS,
      ...(req.osUser ? { owner: req.osUser } : {}),
      ...(signal ? { signal } : {}),
    });
    const extractMs = Date.now() - t0;
    step(`extracted ${dataDir} in ${(extractMs / 1000).toFixed(1)} s`);
    const walSpool = await prepareWalSpool(
      spool,
      files.map((f) => f.as),
      req.osUser,
    );
    const socketDir = req.socketDir ?? '/tmp';
    await writeRecoveryConfig(dataDir, {
      restoreCommand: walSpool.restoreCommand,
      target: req.target,
      ...(req.inclusive === undefined ? {} : { inclusive: req.inclusive }),
      timeline: 'latest',
      // Paused at a target and promoted there (waitUntilPromoted): no wait for a checkpoint.
      action: req.target.kind === 'latest' ? 'promote' : 'pause',
      port: req.port,
      listenAddresses: req.listen ?? '127.0.0.1',
      socketDir,
    });
    const logFile = `${dataDir}.restore.log`;
    let walBytes = 0;
    let walFetched = 0;
    let walError: unknown;
    // Stopped once a recovery to a target has promoted: WAL past the target is not needed.
    const walDone = new AbortController();
    const fetching = fetchWalFiles(repo, files, spool, {
      concurrency: 4,
      known: status.catalog.snapshots,
      // To a target: only as far ahead as needed, the WAL past it is never read. To the
      // latest: everything is needed, as early as possible.
      ...(req.target.kind === 'latest'
        ? {}
        : { pace: { limit: WAL_AHEAD, requested: () => walSpool.requested() } }),
      ...(req.osUser ? { owner: req.osUser } : {}),
      signal: signal ? AbortSignal.any([signal, walDone.signal]) : walDone.signal,
      onFile: (_name, size) => {
        walFetched++;
        walBytes += size;
      },
    }).then(
      () => undefined,
      async (e: unknown) => {
        if (walDone.signal.aborted) return;
        walError = e;
        await walSpool.fail();
      },
    );
    const t1 = Date.now();
    let server;
    let recovery;
    let waitError: unknown;
    try {
      server = await startServer(dataDir, {
        binDir: req.binDir,
        port: req.port,
        socketDir,
        logFile,
        ...(req.osUser ? { osUser: req.osUser } : {}),
      });
      step(
        `started PostgreSQL (pid ${String(server.pid)}) on port ${String(req.port)}; replaying WAL`,
      );
      recovery = await waitUntilPromoted(server, {
        promoteAtTarget: req.target.kind !== 'latest',
        ...(signal ? { signal } : {}),
      });
      if (req.target.kind !== 'latest') walDone.abort();
    } catch (e) {
      waitError = e;
      // Failed for a reason of its own (not the fetch): the rest of the WAL is not needed.
      if (walError === undefined) walDone.abort();
    } finally {
      await fetching;
    }
    if (walError !== undefined) {
      const why = walError instanceof Error ? walError.message : 'unknown error';
      // The spool script made restore_command fail fatally, so PostgreSQL stopped recovering
      // instead of promoting a copy that lacks the rest (unless it had promoted already).
      throw new LifeboatError(
        'INTEGRITY',
        recovery === undefined || server === undefined
          ? `fetching WAL from the repository failed (${why}), so PostgreSQL stopped its recovery on ${dataDir}; see ${logFile}`
          : `fetching WAL from the repository failed (${why}) after PostgreSQL (pid ${String(server.pid)}, left running) promoted on ${dataDir}: the copy may lack data; see ${logFile}`,
        { cause: walError, details: { dataDir, logFile, ...(server ? { pid: server.pid } : {}) } },
      );
    }
    if (recovery === undefined || server === undefined) throw waitError;
    step(
      `fetched ${String(walFetched)} of ${String(files.length)} WAL files (${(walBytes / 2 ** 20).toFixed(0)} MiB)`,
    );
    // Belt and braces for "latest": recovery must have read the newest segment we supplied,
    // or it stopped early and the copy silently lacks data.
    const newest = [...files].reverse().find((f) => /^[0-9A-F]{24}$/.test(f.as))?.as;
    if (req.target.kind === 'latest' && newest && recovery.lastRestoredSegment !== newest) {
      throw new LifeboatError(
        'INTEGRITY',
        `recovery ended after ${recovery.lastRestoredSegment ?? 'no archived segment'}, but the archive holds WAL up to ${newest}: the copy on ${dataDir} (pid ${String(server.pid)}, left running) may lack data; see ${logFile}`,
        { details: { dataDir, pid: server.pid, logFile } },
      );
    }
    const recoveryMs = Date.now() - t1;
    return {
      baseSnapshot: chosen.base.snapshotId,
      walFiles: files.length,
      walBytes,
      logFile,
      pid: server.pid,
      port: req.port,
      recovery,
      timings: { extractMs, recoveryMs, totalMs: Date.now() - started },
    };
  } finally {
    await rm(spool, { recursive: true, force: true });
  }
}

async function nonEmpty(dir: string): Promise<boolean> {
  try {
    return (await readdir(dir)).length > 0;
  } catch {
    return false;
  }
}

function chooseBase(bases: readonly BaseWithWindow[], req: PitrRequest): BaseWithWindow {
  if (bases.length === 0) {
    throw new LifeboatError(
      'NOT_FOUND',
      'no base backup of this service: run `lifeboat backup <service>` first',
    );
  }
  if (req.base !== undefined) {
    const b = bases.find((x) => x.base.snapshotId.startsWith(req.base!));
    if (!b) throw new LifeboatError('NOT_FOUND', `no base backup ${req.base} of this service`);
    return b;
  }
  const usable = bases.filter((b) => b.consistent);
  const t = req.target;
  let candidates = usable;
  if (t.kind === 'lsn') {
    const lsn = parseLsn(t.lsn);
    candidates = usable.filter((b) => b.base.stopLsn <= lsn);
  } else if (t.kind === 'time') {
    const when = parseTargetTime(t.time);
    candidates = usable.filter((b) => (b.base.stopTime ?? Date.parse(b.base.time)) <= when);
  }
  const pick = candidates.at(-1);
  if (!pick) {
    const what =
      t.kind === 'lsn' ? `LSN ${t.lsn}` : t.kind === 'time' ? `time ${t.time}` : 'any target';
    throw new LifeboatError(
      'NOT_FOUND',
      usable.length === 0
        ? 'no base backup has the WAL it needs to become consistent (see `lifeboat wal verify`)'
        : `no base backup ended before ${what}; the oldest usable one ends at ${formatLsn(usable[0]!.base.stopLsn)}`,
    );
  }
  return pick;
}

/** Refuses, before anything is written, a target the archived WAL cannot reach. */
function checkReach(chosen: BaseWithWindow, target: RecoveryTarget): void {
  const w = chosen.window;
  const gap = w.gaps[0];
  const reach = `the archived WAL reaches ${w.endsInPartial ? `into ${w.lastSegment ?? '?'} (partial)` : `LSN ${formatLsn(w.endLsn)}`}`;
  if (target.kind === 'latest' && gap) {
    throw new LifeboatError(
      'WAL_GAP',
      `WAL segment ${gap.missing} is missing (${String(gap.count)} segment(s); WAL resumes at ${gap.resumesAt}): ${reach} and no further. Restore with --lsn ${formatLsn(w.endLsn)} (or an earlier target) to accept losing what follows the gap.`,
      { details: { missing: gap.missing, endLsn: formatLsn(w.endLsn) } },
    );
  }
  if (target.kind === 'lsn' && !w.endsInPartial && parseLsn(target.lsn) > w.endLsn) {
    throw new LifeboatError(
      'WAL_GAP',
      `recovery target LSN ${target.lsn} is beyond the archived WAL: ${reach}${gap ? `; segment ${gap.missing} is missing` : ''}`,
      { details: { endLsn: formatLsn(w.endLsn) } },
    );
  }
}

/** "2026-11-22 10:00:00.123+00" (PostgreSQL's form) as ms since the epoch. */
export function parseTargetTime(text: string): number {
  const iso = text
    .trim()
    .replace(' ', 'T')
    .replace(
      / ?([+-]\d{2})(:?(\d{2}))?$/,
      (_m, h: string, _c, mm: string | undefined) => `${h}:${mm ?? '00'}`,
    );
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) {
    throw new LifeboatError(
      'INVALID_ARGUMENT',
      `recovery target time ${JSON.stringify(text)} is not a timestamp with a zone`,
    );
  }
  return ms;
}
