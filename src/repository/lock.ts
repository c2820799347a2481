/**
 * Repository locks (restic design, "Locks"): a lock file per process in locks/. Backups take
 * shared locks; check, prune and forget take exclusive ones. A lock is stale when it is older
 * than 30 minutes, or it was made on this host by a process that no longer exists. Held locks
 * are refreshed every 5 minutes by writing a new file and removing the old one.
 */
import { hostname } from 'node:os';
import { LifeboatError } from '../core/errors.js';
import { currentUser } from './open-repository.js';
import type { Repository } from './repository.js';

export interface LockInfo {
  time: string;
  exclusive: boolean;
  hostname: string;
  username: string;
  pid: number;
  uid?: number;
  gid?: number;
}

const STALE_AFTER_MS = 30 * 60 * 1000;
const REFRESH_EVERY_MS = 5 * 60 * 1000;
/** restic waits this long before re-listing, to catch a lock written at the same moment. */
const SETTLE_MS = 200;

export function isStale(lock: LockInfo, now = Date.now()): boolean {
  const t = Date.parse(lock.time);
  if (Number.isNaN(t) || now - t > STALE_AFTER_MS) return true;
  if (lock.hostname !== hostname()) return false;
  return !processExists(lock.pid);
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface HeldLock {
  readonly id: string;
  release(): Promise<void>;
}

export async function lockRepository(repo: Repository, exclusive: boolean): Promise<HeldLock> {
  await assertNoConflict(repo, exclusive, undefined);
  const info = (): LockInfo => ({
    time: new Date().toISOString(),
    exclusive,
    hostname: hostname(),
    username: currentUser(),
    pid: process.pid,
    uid: process.getuid?.() ?? 0,
    gid: process.getgid?.() ?? 0,
  });
  let id = await repo.saveUnpacked('lock', info());
  try {
    // An exclusive locker waits, then looks again, so it sees any lock written while it was
    // deciding (restic's protocol). A shared lock conflicts only with an exclusive one, whose
    // owner makes that wait-and-look itself: once our lock is written, a check now is enough
    // on a backend that lists what was written (Backend contract: read-after-write). That
    // spares every backup and every `wal push` the 200 ms.
    if (exclusive) await new Promise((r) => setTimeout(r, SETTLE_MS));
    await assertNoConflict(repo, exclusive, id);
  } catch (err) {
    await repo.backend.remove({ type: 'lock', name: id });
    throw err;
  }
  let refreshing: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    refreshing = (async () => {
      const old = id;
      id = await repo.saveUnpacked('lock', info());
      await repo.backend.remove({ type: 'lock', name: old });
    })().catch(() => undefined);
  }, REFRESH_EVERY_MS);
  timer.unref();
  return {
    get id() {
      return id;
    },
    async release() {
      clearInterval(timer);
      await refreshing;
      await repo.backend.remove({ type: 'lock', name: id });
    },
  };
}

async function assertNoConflict(repo: Repository, exclusive: boolean, own: string | undefined) {
  for (const { id, lock } of await listLocks(repo)) {
    if (id === own || !lock || isStale(lock)) continue;
    if (exclusive || lock.exclusive) {
      throw new LifeboatError(
        'LOCKED',
        `repository is already locked ${lock.exclusive ? 'exclusively ' : ''}by PID ${lock.pid} ` +
          `on ${lock.hostname} by ${lock.username} since ${lock.time} (lock ${id.slice(0, 8)}); ` +
          'if that process is gone, run `lifeboat unlock`',
        { retryable: true, details: { lockId: id, ...lock } },
      );
    }
  }
}

/** Every lock file; `lock` is undefined for files that cannot be read (they never block). */
export async function listLocks(repo: Repository) {
  const out: { id: string; lock: LockInfo | undefined }[] = [];
  for await (const id of repo.list('lock')) {
    try {
      out.push({ id, lock: (await repo.loadUnpacked('lock', id)) as LockInfo });
    } catch {
      out.push({ id, lock: undefined });
    }
  }
  return out;
}

/** Removes stale locks, or every lock with `all`. Returns the ids removed. */
export async function removeLocks(repo: Repository, all: boolean): Promise<string[]> {
  const removed: string[] = [];
  for (const { id, lock } of await listLocks(repo)) {
    if (all || !lock || isStale(lock)) {
      await repo.backend.remove({ type: 'lock', name: id });
      removed.push(id);
    }
  }
  return removed;
}
