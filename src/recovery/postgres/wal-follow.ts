/**
 * `lifeboat wal stream`: follows a PostgreSQL server with pg_receivewal (through a
 * replication slot, so a pause loses nothing) and moves its WAL into the repository as it
 * arrives: each completed segment once, and the segment being written (".partial") again
 * whenever it grew, every `intervalMs`. What the repository holds is therefore at most one
 * interval behind the server: the RPO of streaming mode (issue 3, "Measured RPO").
 */
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { isLifeboatError } from '../../core/errors.js';
import type { PgConnection } from '../../engines/postgres/connection.js';
import { startReceiveWal, type WalReceiver } from '../../engines/postgres/receivewal.js';
import type { Repository } from '../../repository/repository.js';
import { isWalFileName } from '../../engines/postgres/wal-names.js';
import { SnapshotCache } from '../wal/wal-catalog.js';
import { pushWalFile } from '../wal/wal-push.js';

export type FollowEvent =
  | { type: 'receiver'; state: 'started' | 'exited' | 'unreachable'; message: string }
  | { type: 'stored'; name: string; bytes: number; snapshotId: string }
  | { type: 'error'; name: string; message: string };

export interface FollowOptions {
  /** Local directory pg_receivewal writes into; kept across runs (resume point). */
  readonly spool: string;
  readonly slot: string;
  /** How often the growing segment is copied to the repository (default 1000 ms). */
  readonly intervalMs?: number;
  /** Stops following (graceful: the receiver stops, the spool is drained one last time). */
  readonly signal: AbortSignal;
  readonly onEvent?: (e: FollowEvent) => void;
}

export interface FollowResult {
  readonly stored: number;
  readonly partialsStored: number;
}

export async function followWal(
  repo: Repository,
  service: string,
  conn: PgConnection,
  opts: FollowOptions,
): Promise<FollowResult> {
  const interval = opts.intervalMs ?? 1000;
  const emit = opts.onEvent ?? (() => undefined);
  await mkdir(opts.spool, { recursive: true, mode: 0o700 });
  await repo.loadIndex();
  const cache = new SnapshotCache();
  const state = new SpoolState();
  let receiver: WalReceiver | undefined;
  let receiverExited = true;
  let backoff = interval;
  let stored = 0;
  let partialsStored = 0;

  const drain = async () => {
    const r = await drainSpool(repo, service, opts.spool, cache, state, emit);
    stored += r.stored;
    partialsStored += r.partials;
  };

  while (!opts.signal.aborted) {
    if (receiverExited) {
      try {
        const started = await startReceiveWal(conn, {
          dir: opts.spool,
          slot: opts.slot,
          createSlot: true,
          synchronous: true,
        });
        receiver = started;
        receiverExited = false;
        backoff = interval;
        emit({
          type: 'receiver',
          state: 'started',
          message: `pg_receivewal (pid ${String(started.pid)}) following slot ${opts.slot}`,
        });
        void started.exited.then((x) => {
          receiverExited = true;
          if (!x.stopped) {
            emit({
              type: 'receiver',
              state: 'exited',
              message: x.error?.message ?? `exited with ${String(x.code ?? x.signal)}`,
            });
          }
        });
      } catch (e) {
        if (!isLifeboatError(e, 'UNREACHABLE') && !isLifeboatError(e, 'TOOL_FAILED')) throw e;
        emit({ type: 'receiver', state: 'unreachable', message: e.message });
        backoff = Math.min(backoff * 2, 30_000);
      }
    }
    await drain();
    await sleep(receiverExited ? backoff : interval, undefined, { signal: opts.signal }).catch(
      () => undefined,
    );
  }
  await receiver?.stop();
  // Whatever arrived before the stop is stored before we return.
  await drain();
  return { stored, partialsStored };
}

/** What was already stored from the spool, so nothing is pushed twice. */
class SpoolState {
  readonly partialDigest = new Map<string, string>();
  readonly completed = new Set<string>();
}

async function drainSpool(
  repo: Repository,
  service: string,
  spool: string,
  cache: SnapshotCache,
  state: SpoolState,
  emit: (e: FollowEvent) => void,
): Promise<{ stored: number; partials: number }> {
  let stored = 0;
  let partials = 0;
  const names = (await readdir(spool)).filter(isWalFileName).sort();
  const complete = names.filter((n) => !n.endsWith('.partial'));
  for (const name of complete) {
    if (state.completed.has(name)) continue;
    try {
      const r = await pushWalFile(repo, service, join(spool, name), { cache });
      state.completed.add(name);
      state.partialDigest.delete(`${name}.partial`);
      if (r.status === 'stored') {
        stored++;
        emit({ type: 'stored', name, bytes: r.bytes, snapshotId: r.snapshotId });
      }
    } catch (e) {
      emit({ type: 'error', name, message: (e as Error).message });
    }
  }
  // Keep the newest completed segment: pg_receivewal resumes after what it finds here.
  const segments = complete.filter((n) => n.length === 24);
  for (const name of complete) {
    if (state.completed.has(name) && name !== segments.at(-1) && !name.endsWith('.history')) {
      await unlink(join(spool, name)).catch(() => undefined);
      state.completed.delete(name);
    }
  }
  for (const name of names.filter((n) => n.endsWith('.partial'))) {
    let data: Buffer;
    try {
      data = await readFile(join(spool, name));
    } catch {
      continue; // completed and renamed meanwhile: stored on the next round
    }
    const digest = createHash('sha256').update(data).digest('hex');
    if (state.partialDigest.get(name) === digest) continue;
    try {
      const r = await pushWalFile(repo, service, join(spool, name), { cache, data });
      state.partialDigest.set(name, digest);
      if (r.status === 'stored') {
        partials++;
        emit({ type: 'stored', name, bytes: r.bytes, snapshotId: r.snapshotId });
      }
    } catch (e) {
      emit({ type: 'error', name, message: (e as Error).message });
    }
  }
  return { stored, partials };
}
