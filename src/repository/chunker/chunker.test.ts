import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv } from 'node:crypto';
import { setImmediate as tick } from 'node:timers/promises';
import { isLifeboatError } from '../../core/errors.js';
import { Chunker, MAX_CHUNK, MIN_CHUNK, chunkStream } from './chunker.js';

const POL = 0x3cee2d223ad491n; // from a real `restic init`

/** Deterministic pseudo-random bytes (AES-CTR keystream of a fixed key and seed). */
function pseudoRandom(size: number, seed: number): Buffer {
  const iv = Buffer.alloc(16);
  iv.writeUInt32BE(seed, 0);
  return createCipheriv('aes-128-ctr', Buffer.alloc(16, 7), iv).update(Buffer.alloc(size));
}

/**
 * A direct, slow BigInt transcription of restic's chunking rules, independent of the
 * optimised Chunker: returns the chunk lengths.
 */
function referenceChunks(data: Uint8Array, pol: bigint): number[] {
  const deg = BigInt(pol.toString(2).length - 1);
  const mod = (a: bigint): bigint => {
    for (let d = BigInt(a.toString(2).length - 1); d >= deg; d = BigInt(a.toString(2).length - 1)) {
      a ^= pol << (d - deg);
    }
    return a;
  };
  const out: bigint[] = [];
  const reduce: bigint[] = [];
  for (let b = 0n; b < 256n; b++) {
    out.push(mod(b << BigInt(8 * 63)));
    reduce.push(mod(b << deg) | (b << deg));
  }
  const lengths: number[] = [];
  let pos = 0;
  while (pos < data.length) {
    const window = new Array<number>(64).fill(0);
    let wpos = 0;
    let digest = 0n;
    const slide = (b: number): void => {
      digest ^= out[window[wpos]!]!;
      window[wpos] = b;
      wpos = (wpos + 1) % 64;
      const top = Number(digest >> (deg - 8n));
      digest = ((digest << 8n) | BigInt(b)) ^ reduce[top]!;
    };
    slide(1);
    let n = Math.min(MIN_CHUNK - 64, data.length - pos);
    while (pos + n < data.length) {
      slide(data[pos + n]!);
      n++;
      if ((n >= MIN_CHUNK && (digest & 0xfffffn) === 0n) || n >= MAX_CHUNK) break;
    }
    lengths.push(n);
    pos += n;
  }
  return lengths;
}

/** Cut offsets when data is fed to one Chunker in pieces of the sizes `pieceAt` chooses. */
function cutsWithPieces(data: Uint8Array, pieceAt: (offset: number) => number): number[] {
  const c = new Chunker(POL);
  const cuts: number[] = [];
  for (let off = 0; off < data.length;) {
    const end = Math.min(data.length, off + pieceAt(off));
    let at = off;
    for (let cut = c.scan(data, at, end); cut >= 0; cut = c.scan(data, at, end)) {
      cuts.push(cut);
      at = cut;
    }
    off = end;
  }
  return cuts;
}

function cumulative(lengths: number[]): number[] {
  let sum = 0;
  return lengths.map((n) => (sum += n));
}

const DATA = pseudoRandom(9 * 1024 * 1024, 1);

test('chunk sizes lie in [MIN, MAX] except the last', async () => {
  const sizes: number[] = [];
  async function* source(): AsyncGenerator<Uint8Array> {
    for (let off = 0; off < DATA.length; off += 100_000) {
      await tick();
      yield DATA.subarray(off, off + 100_000);
    }
  }
  let total = 0;
  for await (const chunk of chunkStream(source(), POL)) {
    assert.deepEqual(chunk, DATA.subarray(total, total + chunk.length));
    total += chunk.length;
    sizes.push(chunk.length);
  }
  assert.equal(total, DATA.length);
  assert.ok(sizes.length >= 3, `expected several chunks, got ${sizes.length}`);
  for (const n of sizes.slice(0, -1)) assert.ok(n >= MIN_CHUNK && n <= MAX_CHUNK, String(n));
});

test('boundaries match a straightforward BigInt implementation of the rules', () => {
  const data = DATA.subarray(0, 4 * 1024 * 1024);
  const expected = cumulative(referenceChunks(data, POL)).slice(0, -1);
  assert.ok(expected.length >= 1);
  assert.deepEqual(
    cutsWithPieces(data, () => data.length),
    expected,
  );
});

test('boundaries do not depend on how the input is split', () => {
  const whole = cutsWithPieces(DATA, () => DATA.length);
  assert.ok(whole.length >= 3);
  const first = whole[0]!;
  // One-byte pieces where the skipping ends, around the first cut and across the start of
  // the second chunk's hashing; 7 KiB elsewhere.
  const fine = (off: number): number =>
    (off >= MIN_CHUNK - 200 && off < MIN_CHUNK + 200) ||
    (off >= first - 5000 && off < first + 200) ||
    (off >= first + MIN_CHUNK - 200 && off < first + MIN_CHUNK + 200)
      ? 1
      : 7 * 1024;
  assert.deepEqual(cutsWithPieces(DATA, fine), whole);
  assert.deepEqual(
    cutsWithPieces(DATA, () => 7 * 1024),
    whole,
  );
  assert.deepEqual(
    cutsWithPieces(DATA, () => 1024 * 1024),
    whole,
  );
  assert.deepEqual(
    cutsWithPieces(DATA, () => 63),
    whole,
  );
  assert.deepEqual(
    cutsWithPieces(DATA, () => 65),
    whole,
  );
});

test('zero bytes are cut exactly at MIN: the primed 1 leaves the window and the digest is 0', () => {
  const zeros = Buffer.alloc(3 * MIN_CHUNK + 10);
  assert.deepEqual(
    cutsWithPieces(zeros, () => zeros.length),
    [1, 2, 3].map((k) => k * MIN_CHUNK),
  );
});

test('data that never matches is cut at MAX', () => {
  // A 64-byte period makes the digest periodic too; this pattern's 64 digests all miss.
  const pattern = pseudoRandom(64, 5);
  const data = Buffer.alloc(2 * MAX_CHUNK + 1000);
  for (let off = 0; off < data.length; off += 64) pattern.copy(data, off);
  assert.deepEqual(
    cutsWithPieces(data, () => 300_000),
    [MAX_CHUNK, 2 * MAX_CHUNK],
  );
});

test('pending counts bytes of the unfinished chunk; reset starts over', () => {
  const c = new Chunker(POL);
  assert.equal(c.scan(DATA, 0, 1000), -1);
  assert.equal(c.pending, 1000);
  assert.equal(c.scan(DATA, 1000, MIN_CHUNK + 10), -1);
  assert.equal(c.pending, MIN_CHUNK + 10);
  c.reset();
  assert.equal(c.pending, 0);
  const fresh = new Chunker(POL);
  const slice = DATA.subarray(5, 5 + 3 * MIN_CHUNK);
  assert.equal(c.scan(slice, 0, slice.length), fresh.scan(slice, 0, slice.length));
});

test('scan rejects a range outside the buffer', () => {
  const c = new Chunker(POL);
  assert.throws(
    () => c.scan(Buffer.alloc(10), 5, 11),
    (e: unknown) => isLifeboatError(e, 'INTERNAL'),
  );
  assert.throws(
    () => c.scan(Buffer.alloc(10), 6, 5),
    (e: unknown) => isLifeboatError(e, 'INTERNAL'),
  );
});

test('polynomials of unsupported degree are refused', () => {
  assert.throws(
    () => new Chunker(0b1011n),
    (e: unknown) => isLifeboatError(e, 'UNSUPPORTED'),
  );
});

test('chunkStream: empty source yields nothing, a small one yields one chunk', async () => {
  async function* from(...parts: Uint8Array[]): AsyncGenerator<Uint8Array> {
    for (const p of parts) {
      await tick();
      yield p;
    }
  }
  const collect = async (src: AsyncIterable<Uint8Array>): Promise<Buffer[]> => {
    const chunks: Buffer[] = [];
    for await (const c of chunkStream(src, POL)) chunks.push(c);
    return chunks;
  };
  assert.deepEqual(await collect(from()), []);
  assert.deepEqual(await collect(from(new Uint8Array(0), new Uint8Array(0))), []);
  const small = DATA.subarray(0, 100 * 1024);
  const chunks = await collect(from(small.subarray(0, 10), small.subarray(10)));
  assert.equal(chunks.length, 1);
  assert.deepEqual(chunks[0], small);
  // The yielded chunk is a copy, not a view of the source.
  assert.notEqual(chunks[0].buffer, small.buffer);
});

test('chunkStream stops with CANCELLED when the signal aborts', async () => {
  const ac = new AbortController();
  async function* source(): AsyncGenerator<Uint8Array> {
    yield DATA.subarray(0, MIN_CHUNK);
    ac.abort();
    await tick();
    yield DATA.subarray(MIN_CHUNK);
  }
  let seen = 0;
  await assert.rejects(
    async () => {
      for await (const chunk of chunkStream(source(), POL, ac.signal)) seen += chunk.length;
    },
    (e: unknown) => isLifeboatError(e, 'CANCELLED'),
  );
  assert.equal(seen, 0);
});
