/**
 * Restoring a node's metadata onto a restored entry, in restic's order (restic's
 * restoreMetadata): owner, then mode (chown clears setuid/setgid, so chmod must follow it),
 * then times. Extended attributes are not restored: Node has no xattr API.
 *
 * Ordering is the caller's job: apply a directory's metadata only after everything inside it
 * has been written, or creating its entries would move its mtime again (and a read-only mode
 * would block them).
 *
 * Time precision: Node's utimes/lutimes take seconds as a double and libuv converts them to a
 * timespec, dropping everything below the microsecond. utimesSeconds picks the double whose
 * conversion lands exactly on the stored time truncated to whole microseconds (verified in
 * apply-metadata.test.ts), so a restored file's mtime differs from the tree's by the
 * nanoseconds below the microsecond, never more, for times up to the year 2242.
 */
import { fchmodSync, fchownSync, futimesSync } from 'node:fs';
import { chmod, lchown, lutimes, utimes } from 'node:fs/promises';
import { LifeboatError } from '../../core/errors.js';
import { parseGoTime } from '../tree/go-time.js';
import { unixPermFromGoMode, type TreeNode } from '../tree/node.js';

export interface ApplyMetadataOptions {
  /** Restore uid/gid with lchown. Only done when the process runs as root. */
  owner: boolean;
}

/**
 * The seconds value to hand to utimes so that libuv's double → timespec conversion yields
 * `sec` and `nsec` truncated to microseconds. libuv truncates toward zero at each step, so
 * aim half a microsecond past the target for positive times and half a microsecond short of
 * it for negative ones; half a microsecond is wider than a double's rounding error up to
 * 2^33 seconds.
 */
export function utimesSeconds(sec: bigint, nsec: bigint): number {
  const micros = nsec / 1000n;
  if (micros === 0n) return Number(sec);
  const nudge = sec >= 0n ? 500 : -500;
  return Number(sec) + (Number(micros) * 1000 + nudge) / 1e9;
}

/**
 * Node replaces a negative number of seconds with the current time, but passes a numeric
 * string through unchanged, so times before 1970 go in as strings.
 */
function timeArg(text: string): number | string {
  const { sec, nsec } = parseGoTime(text);
  const seconds = utimesSeconds(sec, nsec);
  return seconds < 0 ? String(seconds) : seconds;
}

type Step = readonly [name: string, run: () => void | Promise<void>];

/** Runs every step in order; the first failure is then thrown as LifeboatError IO. */
async function runSteps(path: string, steps: readonly Step[]): Promise<void> {
  let first: LifeboatError | undefined;
  for (const [step, run] of steps) {
    try {
      await run();
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? String(err);
      first ??= new LifeboatError('IO', `${step} ${path}: ${code}`, {
        cause: err,
        details: { path, step },
      });
    }
  }
  if (first !== undefined) throw first;
}

const asRoot = (opts: ApplyMetadataOptions) => opts.owner && process.getuid?.() === 0;

/**
 * Applies owner (when `opts.owner` and running as root), mode (not for symlinks: Linux has no
 * lchmod) and access/modification times (lutimes for symlinks) from `node` to `path`. Every
 * step is tried; the first failure is then thrown as LifeboatError IO.
 */
export async function applyMetadata(
  path: string,
  node: TreeNode,
  opts: ApplyMetadataOptions,
): Promise<void> {
  const steps: Step[] = [];
  if (asRoot(opts)) steps.push(['lchown', () => lchown(path, node.uid, node.gid)]);
  if (node.type !== 'symlink') {
    steps.push(['chmod', () => chmod(path, unixPermFromGoMode(node.mode))]);
  }
  const times = (fn: typeof utimes) => fn(path, timeArg(node.atime), timeArg(node.mtime));
  steps.push(['utimes', () => times(node.type === 'symlink' ? lutimes : utimes)]);
  await runSteps(path, steps);
}

/**
 * applyMetadata for a regular file still open as `fd`, with synchronous calls on the
 * descriptor: the restorer's path for small files, where a thread-pool round trip per call
 * costs more than the system call itself (bench/RESULTS.md, tree restore). Same order and the
 * same error reporting; `path` is only named in errors.
 */
export async function applyMetadataOnFd(
  fd: number,
  path: string,
  node: TreeNode,
  opts: ApplyMetadataOptions,
): Promise<void> {
  const steps: Step[] = [];
  if (asRoot(opts)) steps.push(['lchown', () => fchownSync(fd, node.uid, node.gid)]);
  steps.push(['chmod', () => fchmodSync(fd, unixPermFromGoMode(node.mode))]);
  steps.push(['utimes', () => futimesSync(fd, timeArg(node.atime), timeArg(node.mtime))]);
  await runSteps(path, steps);
}
