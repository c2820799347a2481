/**
 * The quick-start demo: makes sample data, backs it up into a fresh local repository,
 * changes a little and backs up again, restores the newest snapshot, compares every byte and
 * checks the whole repository. Each step reports what it did and how long it took.
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  mkdir,
  readFile,
  readdir,
  rm,
  symlink,
  writeFile,
  lstat,
  readlink,
} from 'node:fs/promises';
import { join, relative } from 'node:path';
import { LifeboatError } from '../core/errors.js';
import { backupPaths } from '../repository/backup.js';
import { checkRepository } from '../repository/checker/checker.js';
import { initRepository, openRepository } from '../repository/open-repository.js';
import { loadAllSnapshots } from '../repository/snapshot.js';
import { restoreTree } from '../repository/restorer/restorer.js';
import type { Backend } from '../storage/backend.js';
import type { Repository } from '../repository/repository.js';

export interface DemoStep {
  step: string;
  ms: number;
  detail: string;
}

export async function runDemo(
  dir: string,
  openBackend: (location: string) => Backend,
  onStep: (s: DemoStep) => void,
): Promise<DemoStep[]> {
  const steps: DemoStep[] = [];
  const timed = async (step: string, fn: () => Promise<string>) => {
    const t = performance.now();
    const detail = await fn();
    const s = { step, ms: Math.round(performance.now() - t), detail };
    steps.push(s);
    onStep(s);
  };
  await rm(dir, { recursive: true, force: true });
  const source = join(dir, 'data');
  const target = join(dir, 'restored');
  const password = randomBytes(12).toString('base64url');
  await timed('create sample data', async () => {
    const n = await makeSampleData(source);
    return `${n.files} files, ${(n.bytes / 1048576).toFixed(1)} MiB in ${source}`;
  });
  // Kept beside the repository so that a stock restic can open it: see the final message.
  await writeFile(join(dir, 'password'), password + '\n', { mode: 0o600 });
  const backend = openBackend(join(dir, 'repo'));
  try {
    let repo!: Repository;
    await timed('init repository', async () => {
      repo = await initRepository(backend, password);
      return `restic v2 format at ${backend.location}`;
    });
    await timed('first backup', async () => {
      const r = await backupPaths(repo, [source], { tags: ['demo'] });
      return `snapshot ${r.snapshotId.slice(0, 8)}: ${r.counters.filesNew} new files, ${(r.writer.bytesStored / 1048576).toFixed(1)} MiB stored`;
    });
    await writeFile(
      join(source, 'notes', 'changed.txt'),
      `changed at ${new Date().toISOString()}\n`,
    );
    await timed('second backup (one file added)', async () => {
      const r = await backupPaths(repo, [source], { tags: ['demo'] });
      return `snapshot ${r.snapshotId.slice(0, 8)}: ${r.counters.filesUnmodified} unmodified, ${r.counters.filesNew + r.counters.filesChanged} new/changed, ${(r.writer.bytesAdded / 1024).toFixed(1)} KiB added`;
    });
    // A fresh open, as a restore on another machine would do.
    repo = await openRepository(backend, password);
    await timed('restore latest', async () => {
      const latest = (await loadAllSnapshots(repo)).at(-1)!;
      const s = await restoreTree(repo, latest.tree, { target });
      return `${s.files} files, ${(s.bytes / 1048576).toFixed(1)} MiB into ${target}`;
    });
    await timed('compare restored files with the source', async () => {
      const restoredRoot = join(target, ...source.split('/').filter(Boolean));
      const a = await digestTree(source);
      const b = await digestTree(restoredRoot);
      if (a !== b) throw new LifeboatError('INTEGRITY', 'restored data differs from the source');
      return 'identical, byte for byte';
    });
    await timed('check --read-data', async () => {
      const r = await checkRepository(repo, { readData: true });
      if (r.errors.length)
        throw new LifeboatError('CHECK_FAILED', r.errors.map((e) => e.message).join('\n'));
      return `${r.snapshots} snapshots, ${r.packs} packs read, no errors`;
    });
  } finally {
    await backend.close();
  }
  return steps;
}

async function makeSampleData(root: string): Promise<{ files: number; bytes: number }> {
  let files = 0;
  let bytes = 0;
  const put = async (rel: string, data: Buffer | string) => {
    const p = join(root, rel);
    await mkdir(join(p, '..'), { recursive: true });
    await writeFile(p, data);
    files++;
    bytes += data.length;
  };
  for (let i = 0; i < 40; i++) {
    const rows = Array.from(
      { length: 2000 },
      (_, r) => `${i * 2000 + r},order-${r % 97},${(r * 7.31).toFixed(2)}\n`,
    );
    await put(`db/table-${String(i).padStart(2, '0')}.csv`, rows.join(''));
  }
  await put('blobs/random-8m.bin', randomBytes(8 << 20));
  await put('blobs/random-1m.bin', randomBytes(1 << 20));
  await put('notes/readme.txt', 'Lifeboat demo data\n');
  await put('notes/empty.txt', '');
  await symlink('readme.txt', join(root, 'notes', 'link-to-readme'));
  return { files, bytes };
}

/** One hash over every path, type, link target and content below root. */
async function digestTree(root: string): Promise<string> {
  const h = createHash('sha256');
  const walk = async (dir: string) => {
    for (const name of (await readdir(dir)).sort()) {
      const p = join(dir, name);
      const st = await lstat(p);
      h.update(`${relative(root, p)}\0${st.mode}\0`);
      if (st.isSymbolicLink()) h.update(await readlink(p));
      else if (st.isDirectory()) await walk(p);
      else h.update(await readFile(p));
    }
  };
  await walk(root);
  return h.digest('hex');
}
