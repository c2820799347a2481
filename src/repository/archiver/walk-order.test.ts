import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMemBackend } from '../../storage/mem/mem-backend.js';
import type { BlobLocation } from '../blob.js';
import { backupPaths } from '../backup.js';
import { initRepository } from '../open-repository.js';
import type { Repository } from '../repository.js';
import { decodeTree } from '../tree/tree-json.js';

async function smallFilesInWalkOrder(repo: Repository, tree: string): Promise<BlobLocation[]> {
  const out: BlobLocation[] = [];
  for (const node of decodeTree(await repo.loadBlob('tree', tree), tree)) {
    if (node.type === 'dir') out.push(...(await smallFilesInWalkOrder(repo, node.subtree!)));
    else if (node.content?.length === 1) out.push(repo.locate('data', node.content[0]!));
  }
  return out;
}

test('files are stored in the order of the walk, so a restore reads neighbours together', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'lifeboat-order-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  // Many sibling directories of small files (more entries than the walk starts at once),
  // one nested level, and a few files that take two chunks.
  for (let a = 0; a < 20; a++) {
    const d = join(dir, `d${String(a).padStart(2, '0')}`, 'sub');
    await mkdir(d, { recursive: true });
    for (let i = 0; i < 25; i++) {
      const size = a % 7 === 0 && i === 10 ? 1_500_000 : 500 + ((a * 131 + i * 977) % 2500);
      await writeFile(join(d, `f${String(i).padStart(3, '0')}`), randomBytes(size));
    }
  }
  const repo = await initRepository(createMemBackend(), 'pw', { kdf: { N: 1024, r: 8, p: 1 } });
  const result = await backupPaths(repo, [dir]);
  await repo.loadIndex();
  const locs = await smallFilesInWalkOrder(repo, result.snapshot.tree);
  assert.ok(locs.length >= 490, `${String(locs.length)} single-blob files`);
  // A restore reads the blobs of consecutive files with one read when they lie close
  // together. Two chunk workers finish files in a slightly different order than they were
  // handed out, so a neighbour may be a few blobs away; a walk that interleaves directories
  // puts a whole round of other directories' files in between.
  let far = 0;
  for (let i = 1; i < locs.length; i++) {
    const [p, c] = [locs[i - 1]!, locs[i]!];
    const gap = c.offset - (p.offset + p.length);
    if (c.packId !== p.packId || gap < -4 * 3100 || gap > 4 * 3100) far++;
  }
  assert.ok(
    far < locs.length / 10,
    `${String(far)} of ${String(locs.length)} neighbours far apart`,
  );
});
