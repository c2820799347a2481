import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { createMemBackend } from '../../storage/mem/mem-backend.js';
import { backupStreams } from '../backup.js';
import { initRepository } from '../open-repository.js';
import { openSnapshotFile } from '../snapshot-file.js';
import { loadSnapshot } from '../snapshot.js';

/** Deterministic bytes that do not compress to nothing and repeat in part (some known chunks). */
function* pieces(seed: string, mib: number): Generator<Buffer> {
  let block = createHash('sha256').update(seed).digest();
  for (let i = 0; i < mib * 16; i++) {
    const out = Buffer.alloc(65536);
    for (let at = 0; at < out.length; at += 32) {
      block = createHash('sha256').update(block).digest();
      block.copy(out, at);
    }
    yield out;
  }
}

async function* stream(parts: Iterable<Buffer>): AsyncGenerator<Uint8Array> {
  for (const p of parts) {
    await Promise.resolve();
    yield p;
  }
}

test('chunks cut into reused buffers are stored intact, new and known ones alike', async () => {
  const repo = await initRepository(createMemBackend(), 'pw', { kdf: { N: 1024, r: 8, p: 1 } });
  // 40 MiB, the second half repeating the first: many chunks in flight, buffers reused many
  // times, and known chunks given back at once.
  const half = [...pieces('a', 20)];
  const all = [...half, ...half];
  const r = await backupStreams(repo, [{ name: 'dump', source: stream(all) }]);
  const snap = await loadSnapshot(repo, r.snapshotId);
  const file = await openSnapshotFile(repo, snap, '/dump');
  const got = createHash('sha256');
  let size = 0;
  for await (const b of file.content) {
    got.update(b);
    size += b.length;
  }
  const want = createHash('sha256');
  for (const p of all) want.update(p);
  assert.equal(size, 40 * 1024 * 1024);
  assert.equal(got.digest('hex'), want.digest('hex'));
});
