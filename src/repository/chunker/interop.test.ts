// SAME CHUNKS: for the repository's polynomial our chunker must cut every file exactly where
// restic does, so that the SHA-256 of our chunks is exactly restic's set of data blob ids
// (RESTIC-FORMAT.md, "Chunking"). This test is the judge of chunker exactness.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv, createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { initResticRepo, resticOk } from '../../../test/support/restic.js';
import { Chunker, MAX_CHUNK, MIN_CHUNK, chunkStream } from './chunker.js';
import { parsePolynomial } from './polynomial.js';

const PASSWORD = 'same-chunks';

function pseudoRandom(size: number, seed: number): Buffer {
  const iv = Buffer.alloc(16);
  iv.writeUInt32BE(seed, 0);
  return createCipheriv('aes-128-ctr', Buffer.alloc(16, 3), iv).update(Buffer.alloc(size));
}

/** About `size` bytes of compressible, varied text. */
function text(size: number): Buffer {
  const lines: string[] = [];
  let total = 0;
  for (let i = 0; total < size; i++) {
    const line = `${i} line of log text, request ${(i * 7919) % 104729} took ${i % 997} ms\n`;
    lines.push(line);
    total += line.length;
  }
  return Buffer.from(lines.join(''));
}

/**
 * Repeats a 64-byte pattern, which makes the digest periodic; picks a pattern none of whose
 * 64 digests matches under `pol`, so every chunk is cut at MAX_CHUNK.
 */
function periodic(size: number, pol: bigint): Buffer {
  const out = Buffer.alloc(size);
  for (let seed = 100; seed < 110; seed++) {
    const pattern = pseudoRandom(64, seed);
    for (let off = 0; off < size; off += 64) pattern.copy(out, off);
    if (new Chunker(pol).scan(out, 0, size) === MAX_CHUNK) return out;
  }
  // Each pattern avoids all 64 possible digests with probability ≈ 1 − 2^-14.
  throw new Error('no 64-byte pattern avoided a cut: the chunker is broken');
}

test('our chunks of restic-backed-up files are exactly restic data blobs', async () => {
  await using r = await initResticRepo(PASSWORD);
  const opts = { repo: r.repo, password: PASSWORD };
  const config = JSON.parse((await resticOk(['cat', 'config'], opts)).stdout) as {
    chunker_polynomial: string;
  };
  const pol = parsePolynomial(config.chunker_polynomial);

  const src = join(r.dir, 'src');
  await mkdir(src);
  const files: Record<string, Buffer> = {
    'random.bin': pseudoRandom(24 * 1024 * 1024, 1),
    'text.log': text(3 * 1024 * 1024),
    'small.bin': pseudoRandom(100 * 1024, 2),
    'zeros.bin': Buffer.alloc(3 * MIN_CHUNK + 12345),
    'periodic.bin': periodic(2 * MAX_CHUNK + 1000, pol),
    'empty.bin': Buffer.alloc(0),
  };
  for (const [name, data] of Object.entries(files)) await writeFile(join(src, name), data);
  await resticOk(['backup', 'src'], { ...opts, cwd: r.dir });

  const listing = (await resticOk(['list', 'blobs'], opts)).stdout;
  const resticData = new Set<string>();
  for (const line of listing.split('\n')) {
    const [type, id] = line.split(' ');
    if (type === 'data' && id !== undefined) resticData.add(id);
  }

  const ours = new Set<string>();
  const sizes: Record<string, number[]> = {};
  for (const name of Object.keys(files)) {
    sizes[name] = [];
    const stream = createReadStream(join(src, name), { highWaterMark: 256 * 1024 });
    for await (const chunk of chunkStream(stream, pol)) {
      ours.add(createHash('sha256').update(chunk).digest('hex'));
      sizes[name].push(chunk.length);
    }
  }
  // Sanity checks that the files exercise what they are meant to.
  assert.ok(sizes['random.bin']!.length >= 10, 'random data has many chunks');
  assert.deepEqual(sizes['zeros.bin'], [MIN_CHUNK, MIN_CHUNK, MIN_CHUNK, 12345]);
  assert.deepEqual(sizes['small.bin'], [100 * 1024]);
  assert.deepEqual(sizes['empty.bin'], []);
  assert.deepEqual(sizes['periodic.bin'], [MAX_CHUNK, MAX_CHUNK, 1000]);

  assert.deepEqual([...ours].sort(), [...resticData].sort());
});
