/**
 * File-system helpers for the benchmark: repository size as `du` counts it, free space, and
 * a byte-for-byte comparison of a restored copy with its source (a fast restore that
 * restores the wrong bytes must not count).
 */
import {
  closeSync,
  existsSync,
  lstatSync,
  openSync,
  readSync,
  readdirSync,
  statfsSync,
} from 'node:fs';
import { join, relative } from 'node:path';

export interface Usage {
  files: number;
  /** Sum of file sizes. */
  bytes: number;
  /** Allocated blocks x 512, what `du -s` reports. */
  diskBytes: number;
}

export function dirUsage(root: string): Usage {
  const u: Usage = { files: 0, bytes: 0, diskBytes: 0 };
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, e.name);
      const st = lstatSync(path);
      u.diskBytes += st.blocks * 512;
      if (e.isDirectory()) walk(path);
      else if (e.isFile()) {
        u.files++;
        u.bytes += st.size;
      }
    }
  };
  walk(root);
  return u;
}

/** Bytes available to us on the file system holding `path`. */
export function freeBytes(path: string): number {
  const s = statfsSync(path);
  return s.bavail * s.bsize;
}

const BLOCK = 4 << 20;
const bufA = Buffer.alloc(BLOCK);
const bufB = Buffer.alloc(BLOCK);

function readFull(fd: number, buf: Buffer): number {
  let n = 0;
  while (n < buf.length) {
    const r = readSync(fd, buf, n, buf.length - n, null);
    if (r === 0) break;
    n += r;
  }
  return n;
}

/** Whether two files have the same size and bytes. */
export function sameContent(a: string, b: string): boolean {
  if (lstatSync(a).size !== lstatSync(b).size) return false;
  const fa = openSync(a, 'r');
  const fb = openSync(b, 'r');
  try {
    for (;;) {
      const na = readFull(fa, bufA);
      const nb = readFull(fb, bufB);
      if (na !== nb || !bufA.subarray(0, na).equals(bufB.subarray(0, nb))) return false;
      if (na < BLOCK) return true;
    }
  } finally {
    closeSync(fa);
    closeSync(fb);
  }
}

export interface TreeDiff {
  files: number;
  bytes: number;
  /** First few differences, as sentences; empty when the trees match. */
  problems: string[];
}

/** Compares every regular file of `source` with the same path under `copy`. */
export function compareTrees(source: string, copy: string, maxProblems = 5): TreeDiff {
  const diff: TreeDiff = { files: 0, bytes: 0, problems: [] };
  if (!existsSync(copy)) return { ...diff, problems: [`nothing was restored at ${copy}`] };
  const note = (p: string) => {
    if (diff.problems.length < maxProblems) diff.problems.push(p);
  };
  const seen = new Set<string>();
  for (const e of readdirSync(source, { recursive: true, withFileTypes: true })) {
    if (!e.isFile()) continue;
    const rel = relative(source, join(e.parentPath, e.name));
    seen.add(rel);
    diff.files++;
    let same = false;
    try {
      same = sameContent(join(source, rel), join(copy, rel));
      diff.bytes += lstatSync(join(copy, rel)).size;
    } catch {
      note(`${rel} is missing from the copy`);
      continue;
    }
    if (!same) note(`${rel} differs from the source`);
  }
  for (const e of readdirSync(copy, { recursive: true, withFileTypes: true })) {
    if (!e.isFile()) continue;
    const rel = relative(copy, join(e.parentPath, e.name));
    if (!seen.has(rel)) note(`${rel} is in the copy but not in the source`);
  }
  return diff;
}

/**
 * Reads every regular file under `paths` (files or directories) once, so they are in the page
 * cache; missing ones are skipped. Returns the bytes read.
 */
export function readAll(paths: readonly string[]): number {
  const buf = Buffer.allocUnsafe(1024 * 1024);
  let total = 0;
  const visit = (path: string): void => {
    let st;
    try {
      st = lstatSync(path);
    } catch {
      return;
    }
    if (st.isDirectory()) {
      for (const name of readdirSync(path)) visit(join(path, name));
    } else if (st.isFile()) {
      const fd = openSync(path, 'r');
      try {
        for (let n = 1; n > 0; total += n) n = readSync(fd, buf, 0, buf.length, null);
      } finally {
        closeSync(fd);
      }
    }
  };
  for (const p of paths) visit(p);
  return total;
}
