import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv } from 'node:crypto';
import { rabinTables } from './rabin-tables.js';
import { BLOCK, DATA, instantiateCutFinder } from './rabin-wasm.js';

const POL = 0x3cee2d223ad491n;
const MASK = (1 << 20) - 1;

function pseudoRandom(size: number, seed: number): Buffer {
  const iv = Buffer.alloc(16);
  iv.writeUInt32BE(seed, 0);
  return createCipheriv('aes-128-ctr', Buffer.alloc(16, 9), iv).update(Buffer.alloc(size));
}

/** Positions i ≥ 63 of data whose 64 bytes data[i−63..i] fingerprint to a split (JS). */
function splits(data: Uint8Array): number[] {
  const t = rabinTables(POL);
  // The digest as two 32-bit halves (the top byte's index comes from the high half).
  const half = (v: bigint) => [Number(BigInt.asIntN(32, v >> 32n)), Number(BigInt.asIntN(32, v))];
  const outT = [...t.out].map(half);
  const modT = [...t.mod].map(half);
  const out: number[] = [];
  let hi = 0;
  let lo = 0;
  for (let i = 0; i < data.length; i++) {
    const o = i >= 64 ? data[i - 64]! : 0;
    hi ^= outT[o]![0]!;
    lo ^= outT[o]![1]!;
    const idx = hi >>> (t.shift - 32);
    hi = ((hi << 8) | (lo >>> 24)) ^ modT[idx]![0]!;
    lo = ((lo << 8) | data[i]!) ^ modT[idx]![1]!;
    if (i >= 63 && (lo & MASK) === 0) out.push(i);
  }
  return out;
}

test('find returns the first split of a block, in either half, or n', () => {
  const f = instantiateCutFinder();
  f.setTables(rabinTables(POL));
  let secondHalf = 0;
  let none = 0;
  for (let seed = 0; seed < 12; seed++) {
    // The block and the 64 bytes before it.
    const data = pseudoRandom(BLOCK + 64, seed);
    const found = splits(data).map((i) => i - 64);
    f.bytes.set(data, DATA);
    for (const n of [BLOCK, BLOCK - 1, (seed * 77_777) % BLOCK, 255, 256, 257, 0]) {
      const expected = found.find((k) => k >= 0 && k < n) ?? n;
      assert.equal(f.find(n), expected, `seed ${String(seed)}, n ${String(n)}`);
      if (expected === n) none++;
      else if (expected >= n >> 1) secondHalf++;
    }
  }
  assert.ok(secondHalf > 0 && none > 0, 'both halves and misses were exercised');
});
