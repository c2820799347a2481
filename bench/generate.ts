/**
 * Benchmark data, generated deterministically from a seed (no network, no fixtures):
 * - a tree of about 1 GiB x scale: many small text files (1-64 KiB), medium files
 *   (100 KiB-4 MiB) and a few large ones (20-200 MiB x scale) in nested directories, about
 *   half compressible text and half incompressible bytes by volume;
 * - a single stream file of about 1 GiB x scale, shaped like a SQL dump with random runs
 *   (bytea columns, large objects), fed to the tools on stdin.
 * The layout is planned first (`planTree`), then written; each file's content depends only
 * on the seed and its path, so any file can be regenerated or compared on its own.
 */
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { RandomBytes, Rng } from './prng.js';
import { TEXT_STYLES, TextGen, type TextStyle } from './text-gen.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;
const WRITE_BLOCK = 8 * MiB;

export interface DataOptions {
  /** 1 gives a ~1 GiB tree and a ~1 GiB stream; 0.05 a quick run. */
  scale: number;
  seed: string;
}

export interface FileSpec {
  /** Path relative to the tree root, '/'-separated. */
  rel: string;
  size: number;
  content: 'text' | 'random';
  style: TextStyle;
}

export interface DataStats {
  files: number;
  dirs: number;
  bytes: number;
  textBytes: number;
  randomBytes: number;
}

const EXT: Record<TextStyle, string> = {
  json: 'json',
  sql: 'sql',
  copy: 'tsv',
  log: 'log',
  csv: 'csv',
};
const BINARY_EXT = ['bin', 'jpg', 'gz', 'zst', 'pdf'];

function planDirs(rng: Rng, count: number, names: readonly string[]): string[] {
  const dirs: { path: string; depth: number }[] = [];
  for (let i = 0; i < Math.min(count, 6); i++) dirs.push({ path: `${names[i]}-${i}`, depth: 1 });
  while (dirs.length < count) {
    const parent = rng.pick(dirs);
    if (parent.depth >= 5) continue;
    dirs.push({
      path: `${parent.path}/${rng.pick(names)}-${dirs.length}`,
      depth: parent.depth + 1,
    });
  }
  return dirs.map((d) => d.path);
}

/** The tree's layout: every file with its size and kind of content, in write order. */
export function planTree(opts: DataOptions): FileSpec[] {
  const rng = new Rng(opts.seed, 'tree-plan');
  const total = Math.round(GiB * opts.scale);
  const smallCount = Math.max(10, Math.round(20_000 * opts.scale));
  const names = ['app', 'data', 'src', 'logs', 'export', 'media', 'docs', 'cache', 'home', 'lib'];
  const dirs = planDirs(rng, Math.max(3, Math.round(smallCount / 40)), names);
  const specs: FileSpec[] = [];
  const volume = { text: 0, random: 0 };
  const add = (dir: string, prefix: string, size: number, content: FileSpec['content']) => {
    const style = rng.pick(TEXT_STYLES);
    const ext = content === 'text' ? EXT[style] : rng.pick(BINARY_EXT);
    specs.push({ rel: `${dir}/${prefix}-${specs.length}.${ext}`, size, content, style });
    volume[content] += size;
  };
  // Small files: mostly text (configs, JSON, logs), some binary (thumbnails, archives).
  for (let i = 0; i < smallCount; i++) {
    add(rng.pick(dirs), 'f', rng.logInt(KiB, 64 * KiB + 1), rng.float() < 0.85 ? 'text' : 'random');
  }
  // Medium and large files take whichever kind has less volume so far: ~50/50 overall.
  const balanced = (): FileSpec['content'] => (volume.text <= volume.random ? 'text' : 'random');
  const mediumBudget = total * 0.25;
  for (let used = 0; used < mediumBudget;) {
    const size = rng.logInt(100 * KiB, 4 * MiB);
    add(rng.pick(dirs), 'm', size, balanced());
    used += size;
  }
  const lo = Math.max(MiB, Math.round(20 * MiB * opts.scale));
  const hi = Math.max(2 * MiB, Math.round(200 * MiB * opts.scale));
  let left = total - volume.text - volume.random;
  while (left >= lo / 2) {
    const size = Math.min(left, rng.logInt(lo, hi));
    add(rng.pick(['media', 'backups', 'vm-images']), 'large', size, balanced());
    left -= size;
  }
  return specs;
}

/** Writes `size` bytes of a file's content to an open descriptor, in big blocks. */
function writeContent(fd: number, spec: FileSpec, seed: string, label: string): void {
  const text = spec.content === 'text' ? new TextGen(seed, label, spec.style) : undefined;
  const random = text ? undefined : new RandomBytes(seed, label);
  for (let left = spec.size; left > 0;) {
    const n = Math.min(left, WRITE_BLOCK);
    writeSync(fd, text ? text.next(n) : random!.next(n));
    left -= n;
  }
}

export function generateTree(root: string, opts: DataOptions): DataStats {
  const specs = planTree(opts);
  const dirs = new Set<string>();
  const stats: DataStats = { files: 0, dirs: 0, bytes: 0, textBytes: 0, randomBytes: 0 };
  for (const spec of specs) {
    const path = join(root, spec.rel);
    const dir = dirname(path);
    if (!dirs.has(dir)) {
      mkdirSync(dir, { recursive: true });
      dirs.add(dir);
    }
    const fd = openSync(path, 'w');
    try {
      writeContent(fd, spec, opts.seed, `tree:${spec.rel}`);
    } finally {
      closeSync(fd);
    }
    stats.files++;
    stats.bytes += spec.size;
    if (spec.content === 'text') stats.textBytes += spec.size;
    else stats.randomBytes += spec.size;
  }
  stats.dirs = dirs.size;
  return stats;
}

const DUMP_HEADER = Buffer.from(
  '--\n-- PostgreSQL database dump (generated for the Lifeboat benchmark)\n--\n\n' +
    "SET statement_timeout = 0;\nSET client_encoding = 'UTF8';\n\n",
);

/**
 * One stream file: SQL text segments (1-16 MiB, INSERTs and COPY rows) alternating with
 * random runs (64 KiB-8 MiB), the kind with less volume so far going next.
 */
export function generateStream(path: string, opts: DataOptions): DataStats {
  const rng = new Rng(opts.seed, 'stream-plan');
  const total = Math.round(GiB * opts.scale);
  const stats: DataStats = { files: 1, dirs: 0, bytes: 0, textBytes: 0, randomBytes: 0 };
  const insert = new TextGen(opts.seed, 'stream:sql', 'sql');
  const copy = new TextGen(opts.seed, 'stream:copy', 'copy');
  const random = new RandomBytes(opts.seed, 'stream:random');
  mkdirSync(dirname(path), { recursive: true });
  const fd = openSync(path, 'w');
  try {
    const head = DUMP_HEADER.subarray(0, Math.min(DUMP_HEADER.length, total));
    writeSync(fd, head);
    stats.bytes = stats.textBytes = head.length;
    while (stats.bytes < total) {
      const isText = stats.textBytes <= stats.randomBytes;
      let size = isText ? rng.logInt(MiB, 16 * MiB) : rng.logInt(64 * KiB, 8 * MiB);
      size = Math.min(size, total - stats.bytes);
      const source = isText ? rng.pick([insert, copy]) : undefined;
      for (let left = size; left > 0;) {
        const n = Math.min(left, WRITE_BLOCK);
        writeSync(fd, source ? source.next(n) : random.next(n));
        left -= n;
      }
      stats.bytes += size;
      if (isText) stats.textBytes += size;
      else stats.randomBytes += size;
    }
  } finally {
    closeSync(fd);
  }
  return stats;
}
