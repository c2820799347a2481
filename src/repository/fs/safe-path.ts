/**
 * Keeping restores inside their target. Tree names come from a repository we do not trust
 * (decodeTree already rejects the worst), and a symlink restored early could redirect a later
 * write. Every path a restore writes is built with safeJoin and checked with
 * assertNoSymlinkInPath before it is created or opened.
 */
import { lstat } from 'node:fs/promises';
import { isAbsolute, join, relative, sep } from 'node:path';
import { LifeboatError } from '../../core/errors.js';

function unsafe(message: string, details: Record<string, unknown>): LifeboatError {
  return new LifeboatError('UNSAFE_PATH', message, { details });
}

/**
 * Joins entry names under `target`. Each name must be one path component: non-empty, not `.`
 * or `..`, without `/` or NUL. Throws LifeboatError UNSAFE_PATH otherwise, so the result
 * always lies inside `target`.
 */
export function safeJoin(target: string, relParts: readonly string[]): string {
  for (const part of relParts) {
    let problem: string | undefined;
    if (typeof part !== 'string' || part === '') problem = 'is empty';
    else if (part === '.' || part === '..') problem = 'is a relative path component';
    else if (part.includes('/')) problem = isAbsolute(part) ? 'is absolute' : 'contains "/"';
    else if (part.includes('\0')) problem = 'contains NUL';
    if (problem !== undefined) {
      throw unsafe(`path component ${JSON.stringify(part)} ${problem}`, {
        target,
        parts: [...relParts],
      });
    }
  }
  return join(target, ...relParts);
}

/**
 * Checks with lstat that no existing component of `path` below `target` is a symlink:
 * writing through one could land outside the target. `path` itself is checked too unless
 * `includeLeaf` is false (for an entry that is meant to be replaced or is itself a restored
 * symlink). Components that do not exist yet end the check. Throws UNSAFE_PATH when `path` is
 * not inside `target` or a symlink is found; IO when lstat fails otherwise.
 *
 * This is a check, not a lock: it protects against what the restore itself created, not
 * against another process racing it in the target.
 */
export async function assertNoSymlinkInPath(
  target: string,
  path: string,
  opts: { includeLeaf?: boolean } = {},
): Promise<void> {
  const rel = relative(target, path);
  if (rel === '') return;
  const parts = rel.split(sep);
  if (isAbsolute(rel) || parts[0] === '..') {
    throw unsafe(`${path} is not inside ${target}`, { target, path });
  }
  const last = opts.includeLeaf === false ? parts.length - 1 : parts.length;
  let current = target;
  for (let i = 0; i < last; i++) {
    current = join(current, parts[i]!);
    let isLink: boolean;
    try {
      isLink = (await lstat(current)).isSymbolicLink();
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return;
      throw new LifeboatError('IO', `lstat ${current}: ${code ?? String(err)}`, { cause: err });
    }
    if (isLink) {
      throw unsafe(`${current} is a symlink; refusing to write ${path} through it`, {
        target,
        path,
        symlink: current,
      });
    }
  }
}
