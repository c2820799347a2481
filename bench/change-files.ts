/**
 * The "change 1% of files" step: modifies a deterministic selection of files the way real
 * data changes between two backups (a record rewritten in the middle of a file, lines
 * appended to a log), and remembers how to undo it, so every repetition of the benchmark
 * starts from the same tree.
 */
import {
  closeSync,
  ftruncateSync,
  openSync,
  readSync,
  readdirSync,
  statSync,
  writeSync,
} from 'node:fs';
import { join, relative } from 'node:path';
import { RandomBytes, Rng } from './prng.js';
import { TextGen } from './text-gen.js';

const KiB = 1024;

export interface ChangeOptions {
  seed: string;
  /** Distinct rounds change different files with different bytes. */
  round: number;
  /** Share of the files to change; 0.01 = 1%. At least one file is changed. */
  fraction: number;
}

type Undo =
  | { path: string; kind: 'overwrite'; offset: number; original: Buffer }
  | { path: string; kind: 'append'; originalSize: number };

export interface ChangeLog {
  files: number;
  bytesWritten: number;
  undo: Undo[];
}

/** Every regular file below `root`, as sorted relative paths (a stable order to pick from). */
export function listFiles(root: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(root, { recursive: true, withFileTypes: true })) {
    if (e.isFile()) out.push(relative(root, join(e.parentPath, e.name)));
  }
  return out.sort();
}

export function changeFiles(root: string, opts: ChangeOptions): ChangeLog {
  const files = listFiles(root);
  const rng = new Rng(opts.seed, `change:${opts.round}`);
  const count = Math.min(files.length, Math.max(1, Math.round(files.length * opts.fraction)));
  // Partial Fisher-Yates: the first `count` entries become a uniform random selection.
  for (let i = 0; i < count; i++) {
    const j = rng.int(i, files.length);
    [files[i], files[j]] = [files[j]!, files[i]!];
  }
  const log: ChangeLog = { files: 0, bytesWritten: 0, undo: [] };
  for (const rel of files.slice(0, count)) {
    const path = join(root, rel);
    const label = `change:${opts.round}:${rel}`;
    const size = statSync(path).size;
    const fd = openSync(path, 'r+');
    try {
      if (size >= 8 * KiB && rng.float() < 0.5) {
        const len = Math.min(4 * KiB, Math.floor(size / 4));
        const offset = Math.floor(size / 2) - Math.floor(len / 2);
        const original = Buffer.alloc(len);
        readSync(fd, original, 0, len, offset);
        writeSync(fd, new RandomBytes(opts.seed, label).next(len), 0, len, offset);
        log.undo.push({ path, kind: 'overwrite', offset, original });
        log.bytesWritten += len;
      } else {
        const len = rng.int(KiB, 16 * KiB);
        writeSync(fd, new TextGen(opts.seed, label, 'log').next(len), 0, len, size);
        log.undo.push({ path, kind: 'append', originalSize: size });
        log.bytesWritten += len;
      }
    } finally {
      closeSync(fd);
    }
    log.files++;
  }
  return log;
}

/** Restores the bytes and sizes `changeFiles` altered (mtimes stay new). */
export function undoChanges(log: ChangeLog): void {
  for (const u of [...log.undo].reverse()) {
    const fd = openSync(u.path, 'r+');
    try {
      if (u.kind === 'overwrite') writeSync(fd, u.original, 0, u.original.length, u.offset);
      else ftruncateSync(fd, u.originalSize);
    } finally {
      closeSync(fd);
    }
  }
}
