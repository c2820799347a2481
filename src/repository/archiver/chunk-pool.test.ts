import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv, createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Chunker } from '../chunker/chunker.js';
import { MasterKey } from '../crypto/master-key.js';
import { zstdDecompressSync } from '../zstd.js';
import { ChunkPool, type HashedChunk } from './chunk-pool.js';
import { KnownFilter } from './known-filter.js';

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
    assert.equal(c.sealed, false);
    assert.equal(createHash('sha256').update(c.data).digest('hex'), c.id);
    ids.push(c.id);
    c.release();
  }
  return ids;
}

test('workers start on demand: none before a job, another once a backlog builds, at most size', async (t) => {
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
    // Three at once: still one worker, the backlog is short.
    const all = await Promise.all(files.map((f) => collect(pool.chunkFile(f.path))));
    assert.equal(pool.started, 1);
    files.forEach((f, i) => assert.deepEqual(all[i], expectedChunks(f.data)));
    // Nine at once: a second worker starts, never a third.
    const many = [...files, ...files, ...files];
    const got = await Promise.all(many.map((f) => collect(pool.chunkFile(f.path))));
    assert.equal(pool.started, 2);
    many.forEach((f, i) => assert.deepEqual(got[i], expectedChunks(f.data)));
  } finally {
    await pool.close();
  }
  // Files of known size: a second worker waits until 64 MiB were handed out, however long
  // the backlog (a re-backup of a few changed files keeps one worker's memory).
  const sized = new ChunkPool(POL, 2);
  try {
    const nine = [...files, ...files, ...files];
    const size = (f: { data: Buffer }) => f.data.length;
    await Promise.all(nine.map((f) => collect(sized.chunkFile(f.path, {}, size(f)))));
    assert.equal(sized.started, 1, 'about 28 MiB: one worker');
    const more = [...nine, ...nine];
    const got = await Promise.all(more.map((f) => collect(sized.chunkFile(f.path, {}, size(f)))));
    assert.equal(sized.started, 2, 'past 64 MiB with a backlog: the second worker');
    more.forEach((f, i) => assert.deepEqual(got[i], expectedChunks(f.data)));
  } finally {
    await sized.close();
  }
});

test('with the key, workers seal small new chunks and leave large or known ones as plaintext', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'lifeboat-pool-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const text = Buffer.from('{"id": 1, "name": "small file"}\n'.repeat(600));
  const random = pseudoRandom(20_000, 7);
  const known = Buffer.from('this one the repository has already\n'.repeat(10));
  const large = pseudoRandom(10 * 1024 * 1024, 8);
  const paths = await Promise.all(
    Object.entries({ text, random, known, large, empty: Buffer.alloc(0) }).map(
      async ([name, data]) => {
        const path = join(dir, name);
        await writeFile(path, data);
        return path;
      },
    ),
  );
  const key = MasterKey.generate();
  const filter = KnownFilter.create(10);
  filter.add(createHash('sha256').update(known).digest('hex'));
  const pool = new ChunkPool(POL, 2, { key, compression: 'auto', known: () => filter });
  const chunksOf = async (path: string) => {
    const out: HashedChunk[] = [];
    const outcome: { changed?: boolean } = {};
    const gen = pool.chunkFile(path, outcome);
    let r = await gen.next();
    while (!r.done) {
      // The bytes live in the worker's ring until released: keep a copy.
      out.push({ ...r.value, data: Buffer.from(r.value.data) });
      r.value.release();
      r = await gen.next();
    }
    assert.equal(outcome.changed, false);
    return { chunks: out, size: r.value };
  };
  try {
    const [t1, r1, k1, l1, e1] = await Promise.all(paths.map(chunksOf));
    // Compressible and new: compressed, then encrypted with the repository key.
    const c = t1!.chunks[0]!;
    assert.equal(t1!.chunks.length, 1);
    assert.equal(t1!.size, text.length);
    assert.ok(c.sealed && c.uncompressed === text.length && c.length === text.length);
    assert.deepEqual(zstdDecompressSync(key.decrypt(c.data), c.uncompressed), text);
    // Incompressible and new: encrypted as is.
    const r = r1!.chunks[0]!;
    assert.ok(r.sealed && r.uncompressed === undefined);
    assert.deepEqual(key.decrypt(r.data), random);
    // Maybe known: plaintext, for the main thread to deduplicate.
    assert.equal(k1!.chunks[0]!.sealed, false);
    assert.deepEqual(k1!.chunks[0]!.data, known);
    // Large chunks: plaintext while the main thread has none of the worker's left to seal,
    // else sealed by the worker; in file order either way.
    assert.ok(l1!.chunks.length >= 2);
    const plain = (x: HashedChunk) => (x.sealed ? key.decrypt(x.data) : x.data);
    assert.deepEqual(Buffer.concat(l1!.chunks.map(plain)), large);
    assert.equal(l1!.size, large.length);
    assert.deepEqual(e1, { chunks: [], size: 0 });
  } finally {
    await pool.close();
  }
});

test('the ring holds back the reader until chunks are released; an abandoned job frees its own', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'lifeboat-pool-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  // 40 MiB of chunks: more than the ring holds.
  const data = pseudoRandom(40 * 1024 * 1024, 9);
  const path = join(dir, 'big');
  await writeFile(path, data);
  const pool = new ChunkPool(POL, 1);
  try {
    const held: HashedChunk[] = [];
    const gen = pool.chunkFile(path);
    const first = await gen.next();
    assert.ok(!first.done);
    held.push(first.value);
    // Hold every chunk: the worker stops once its ring is full, well before the end.
    let pending = gen.next();
    for (;;) {
      const next = await Promise.race([
        pending,
        new Promise<'stalled'>((r) => setTimeout(() => r('stalled'), 1000)),
      ]);
      if (next === 'stalled') break;
      if (next.done) assert.fail('the worker went past a full ring');
      held.push(next.value);
      pending = gen.next();
    }
    const heldBytes = held.reduce((n, c) => n + c.length, 0);
    assert.ok(heldBytes < 20 * 1024 * 1024, `${heldBytes} bytes held`);
    // What it handed over is intact; releasing lets it go on to the end.
    let offset = 0;
    for (const c of held) {
      assert.deepEqual(c.data, data.subarray(offset, offset + c.length));
      offset += c.length;
      c.release();
    }
    const after = await pending;
    assert.ok(!after.done);
    after.value.release();
    // Abandon the job halfway: the pool frees what the worker still sends for it.
    await gen.return(0);
    assert.deepEqual(await collect(pool.chunkFile(path)), expectedChunks(data));
  } finally {
    await pool.close();
  }
});

test('many small files at once: every result reaches its own job, in order', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'lifeboat-pool-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const files = await Promise.all(
    Array.from({ length: 300 }, async (_, i) => {
      const data = pseudoRandom(100 + i * 37, 100 + i);
      const path = join(dir, `s${String(i)}`);
      await writeFile(path, data);
      return { path, data };
    }),
  );
  const pool = new ChunkPool(POL, 2);
  try {
    const got = await Promise.all(files.map((f) => collect(pool.chunkFile(f.path))));
    files.forEach((f, i) => assert.deepEqual(got[i], expectedChunks(f.data)));
    // A missing file fails its own job only.
    await assert.rejects(collect(pool.chunkFile(join(dir, 'missing'))), { code: 'ENOENT' });
    assert.deepEqual(await collect(pool.chunkFile(files[0]!.path)), expectedChunks(files[0]!.data));
  } finally {
    await pool.close();
  }
});
