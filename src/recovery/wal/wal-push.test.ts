import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { isLifeboatError } from '../../core/errors.js';
import { initRepository } from '../../repository/open-repository.js';
import type { Repository } from '../../repository/repository.js';
import { createMemBackend } from '../../storage/mem/mem-backend.js';
import { loadWalCatalog } from './wal-catalog.js';
import { fetchWalFiles } from './wal-fetch.js';
import { pushWalFile } from './wal-push.js';
import { readFile } from 'node:fs/promises';

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lifeboat-walpush-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function repo(): Promise<Repository> {
  return initRepository(createMemBackend(), 'pw', { kdf: { N: 1024, r: 8, p: 1 } });
}

async function walFile(name: string, seed: number, size = 1 << 20): Promise<string> {
  const data = Buffer.alloc(size);
  for (let i = 0; i < size; i += 4) data.writeUInt32LE((i * 2654435761 + seed) >>> 0, i);
  const sub = await mkdtemp(join(dir, 'f-'));
  const path = join(sub, name);
  await writeFile(path, data);
  return path;
}

const SEG = '000000010000000000000003';

test('a new segment is stored as a snapshot of its own, tagged with the service', async () => {
  const r = await repo();
  const res = await pushWalFile(r, 'db', await walFile(SEG, 1));
  assert.equal(res.status, 'stored');
  const cat = await loadWalCatalog(r, 'db');
  assert.deepEqual([...cat.files.keys()], [SEG]);
  assert.deepEqual(cat.snapshots[0]?.paths, [`/${SEG}`]);
  assert.ok(cat.snapshots[0]?.tags?.includes('kind=wal'));
  assert.equal((await loadWalCatalog(r, 'other')).files.size, 0, 'other services see nothing');
});

test('the same segment with the same bytes again is success without a new snapshot', async () => {
  const r = await repo();
  const first = await pushWalFile(r, 'db', await walFile(SEG, 1));
  const again = await pushWalFile(r, 'db', await walFile(SEG, 1));
  assert.equal(again.status, 'unchanged');
  assert.equal(again.snapshotId, first.snapshotId);
  assert.equal((await loadWalCatalog(r, 'db')).snapshots.length, 1);
});

test('the same segment with different bytes is an INTEGRITY error and keeps the first', async () => {
  const r = await repo();
  const first = await pushWalFile(r, 'db', await walFile(SEG, 1));
  await assert.rejects(pushWalFile(r, 'db', await walFile(SEG, 2)), (e: unknown) => {
    assert.ok(isLifeboatError(e, 'INTEGRITY'));
    assert.match(e.message, /different content/);
    return true;
  });
  const cat = await loadWalCatalog(r, 'db');
  assert.equal(cat.files.get(SEG)?.snapshotId, first.snapshotId);
});

test('a newer partial replaces the older one; the complete segment replaces both', async () => {
  const r = await repo();
  const partial = `${SEG}.partial`;
  await pushWalFile(r, 'db', await walFile(partial, 1));
  await pushWalFile(r, 'db', await walFile(partial, 2));
  let cat = await loadWalCatalog(r, 'db');
  assert.equal(cat.snapshots.length, 1, 'one partial snapshot left');
  await pushWalFile(r, 'db', await walFile(SEG, 3));
  cat = await loadWalCatalog(r, 'db');
  assert.deepEqual([...cat.files.keys()], [SEG]);
  assert.equal(cat.snapshots.length, 1);
});

test('names that are not WAL files are refused', async () => {
  const r = await repo();
  await assert.rejects(pushWalFile(r, 'db', await walFile('postgresql.conf', 1)), (e: unknown) =>
    isLifeboatError(e, 'INVALID_ARGUMENT'),
  );
  await assert.rejects(pushWalFile(r, 'db', join(dir, 'missing', SEG)), (e: unknown) =>
    isLifeboatError(e, 'IO'),
  );
});

test('fetch brings files back byte for byte, in parallel, under the asked name', async () => {
  const r = await repo();
  const names = [SEG, '000000010000000000000004', '00000002.history'];
  const paths = [];
  for (const [i, n] of names.entries()) {
    const p = await walFile(n, i + 10, n.endsWith('.history') ? 64 : 1 << 20);
    paths.push(p);
    await pushWalFile(r, 'db', p);
  }
  const out = await mkdtemp(join(dir, 'out-'));
  const cat = await loadWalCatalog(r, 'db');
  const items = names.map((n) => ({ entry: cat.files.get(n)!, as: n }));
  await fetchWalFiles(r, items, out);
  for (const [i, n] of names.entries()) {
    assert.deepEqual(await readFile(join(out, n)), await readFile(paths[i]!));
  }
});
