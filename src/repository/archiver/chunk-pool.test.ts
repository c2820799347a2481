import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv, createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Chunker } from '../chunker/chunker.js';
import { ChunkPool, type HashedChunk } from './chunk-pool.js';

const POL = 0x3cee2d223ad491n;

function pseudoRandom(size: number, seed: number): Buffer {
  const iv = Buffer.alloc(16);
  iv.writeUInt32BE(seed, 0);
  return createCipheriv('aes-128-ctr', Buffer.alloc(16, 3), iv).update(Buffer.alloc(size));
}

function expectedChunks(data: Buffer): string[] {
  const c = new Chunker(POL);
  const ids: string[] = [];
  let start = 0;
  let at = 0;
  while (at < data.length) {
    const cut = c.scan(data, at, data.length);
    if (cut < 0) break;
    ids.push(createHash('sha256').update(data.subarray(start, cut)).digest('hex'));
    start = at = cut;
  }
  if (start < data.length) {
    ids.push(createHash('sha256').update(data.subarray(start)).digest('hex'));
  }
  return ids;
}

async function collect(it: AsyncIterable<HashedChunk>): Promise<string[]> {
  const ids: string[] = [];
  for await (const c of it) {
    assert.equal(createHash('sha256').update(c.data).digest('hex'), c.id);
    ids.push(c.id);
  }
  return ids;
}

test('workers start on demand: none before a job, one per concurrent job, at most size', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'lifeboat-pool-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const files = await Promise.all(
    [0, 1, 2].map(async (i) => {
      const data = pseudoRandom(3 * 1024 * 1024 + i * 1000, i);
      const path = join(dir, `f${String(i)}`);
      await writeFile(path, data);
      return { path, data };
    }),
  );
  const pool = new ChunkPool(POL, 2);
  try {
    assert.equal(pool.started, 0);
    // Sequential jobs reuse the one idle worker.
    assert.deepEqual(await collect(pool.chunkFile(files[0]!.path)), expectedChunks(files[0]!.data));
    assert.deepEqual(await collect(pool.chunkFile(files[1]!.path)), expectedChunks(files[1]!.data));
    assert.equal(pool.started, 1);
    // Three at once: a second worker starts, never a third.
    const all = await Promise.all(files.map((f) => collect(pool.chunkFile(f.path))));
    assert.equal(pool.started, 2);
    files.forEach((f, i) => assert.deepEqual(all[i], expectedChunks(f.data)));
  } finally {
    await pool.close();
  }
});
