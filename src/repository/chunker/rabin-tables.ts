/**
 * Lookup tables for the rolling Rabin fingerprint of restic's chunker, split into 32-bit
 * halves so the hot loop runs on small integers instead of BigInt.
 *
 * - out[b] = (b · x^(8·63)) mod pol: the hash of b followed by 63 zero bytes. XOR-ing it
 *   removes byte b from the front of the 64-byte window.
 * - mod[b] = ((b · x^deg) mod pol) | (b · x^deg): after the digest is shifted left by 8, its
 *   top byte b sits at x^deg..x^(deg+7); one XOR both clears it and adds its remainder.
 */
import { LifeboatError } from '../../core/errors.js';
import { degree, polyMod } from './polynomial.js';

export const WINDOW_SIZE = 64;

// The digest stays below x^deg, so with deg ≤ 53 it fits a double exactly and, shifted by 8,
// in two 32-bit halves; the index of the top byte comes from the high half alone when deg ≥ 40.
// restic only ever makes degree-53 polynomials (and newer restic rejects deg > 53).
const MIN_DEGREE = 40;
const MAX_DEGREE = 53;

export interface RabinTables {
  readonly pol: bigint;
  /** deg − 8 − 32: shift of the high half that yields the top byte. */
  readonly hiShift: number;
  readonly outLo: Int32Array;
  readonly outHi: Int32Array;
  readonly modLo: Int32Array;
  readonly modHi: Int32Array;
}

const cache = new Map<bigint, RabinTables>();

function split(v: bigint, i: number, lo: Int32Array, hi: Int32Array): void {
  lo[i] = Number(BigInt.asIntN(32, v));
  hi[i] = Number(BigInt.asIntN(32, v >> 32n));
}

function build(pol: bigint): RabinTables {
  const deg = degree(pol);
  if (deg < MIN_DEGREE || deg > MAX_DEGREE) {
    throw new LifeboatError(
      'UNSUPPORTED',
      `chunker polynomial ${pol.toString(16)} has degree ${deg}; supported are ${MIN_DEGREE}–${MAX_DEGREE}`,
    );
  }
  const outLo = new Int32Array(256);
  const outHi = new Int32Array(256);
  const modLo = new Int32Array(256);
  const modHi = new Int32Array(256);
  // Both tables are linear in b over GF(2): each entry is the XOR of the entries of its set
  // bits, so 16 polynomial reductions fill them instead of 512 (~15 ms less per process).
  const windowShift = BigInt(8 * (WINDOW_SIZE - 1));
  const outBits: bigint[] = [];
  const modBits: bigint[] = [];
  for (let i = 0; i < 8; i++) {
    const top = 1n << BigInt(deg + i);
    outBits.push(polyMod(1n << (windowShift + BigInt(i)), pol));
    modBits.push(polyMod(top, pol) | top);
  }
  const out: bigint[] = [0n];
  const mod: bigint[] = [0n];
  for (let b = 1; b < 256; b++) {
    const low = 31 - Math.clz32(b & -b);
    out.push(out[b & (b - 1)]! ^ outBits[low]!);
    mod.push(mod[b & (b - 1)]! ^ modBits[low]!);
  }
  for (let b = 0; b < 256; b++) {
    split(out[b]!, b, outLo, outHi);
    split(mod[b]!, b, modLo, modHi);
  }
  return { pol, hiShift: deg - 8 - 32, outLo, outHi, modLo, modHi };
}

/** Tables for pol, computed once per polynomial (a repository uses a single one). */
export function rabinTables(pol: bigint): RabinTables {
  let t = cache.get(pol);
  if (t === undefined) {
    t = build(pol);
    cache.set(pol, t);
  }
  return t;
}
