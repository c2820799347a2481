import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv } from 'node:crypto';
import { rabinTables } from './rabin-tables.js';
import { BLOCK, DATA, SHIFT_OFFSET, instantiateCutFinder } from './rabin-wasm.js';

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
  const out: number[] = [];
  let hi = 0;
  let lo = 0;
  for (let i = 0; i < data.length; i++) {
    const o = i >= 64 ? data[i - 64]! : 0;
    hi ^= t.outHi[o]!;
    lo ^= t.outLo[o]!;
    const idx = hi >>> t.hiShift;
    hi = ((hi << 8) | (lo >>> 24)) ^ t.modHi[idx]!;
    lo = ((lo << 8) | data[i]!) ^ t.modLo[idx]!;
    if (i >= 63 && (lo & MASK) === 0) out.push(i);
  }
  return out;
}

test('find returns the first split of a block, in either half, or n', () => {
  const t = rabinTables(POL);
  const f = instantiateCutFinder();
  for (let b = 0; b < 256; b++) {
    f.words[b] = (BigInt(t.modHi[b]! >>> 0) << 32n) | BigInt(t.modLo[b]! >>> 0);
    f.words[256 + b] = (BigInt(t.outHi[b]! >>> 0) << 32n) | BigInt(t.outLo[b]! >>> 0);
  }
  f.words[SHIFT_OFFSET / 8] = BigInt(t.hiShift + 32);
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
