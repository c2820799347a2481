/**
 * Lookup tables for the rolling Rabin fingerprint of restic's chunker, as the 64-bit words
 * the WebAssembly search (rabin-wasm.ts) reads:
 *
 * - out[b] = (b · x^(8·63)) mod pol: the hash of b followed by 63 zero bytes. XOR-ing it
 *   removes byte b from the front of the 64-byte window.
 * - mod[b] = ((b · x^deg) mod pol) | (b · x^deg): after the digest is shifted left by 8, its
 *   top byte b sits at x^deg..x^(deg+7); one XOR both clears it and adds its remainder.
 */
import { LifeboatError } from '../../core/errors.js';
import { degree, polyMod } from './polynomial.js';

export const WINDOW_SIZE = 64;

// restic only ever makes degree-53 polynomials (and newer restic rejects deg > 53); the digest,
// below x^deg and shifted left by 8, must fit 64 bits.
const MIN_DEGREE = 40;
const MAX_DEGREE = 53;

export interface RabinTables {
  readonly pol: bigint;
  /** deg − 8: digest >> shift is the byte about to cross x^deg. */
  readonly shift: number;
  readonly out: BigUint64Array;
  readonly mod: BigUint64Array;
}

const cache = new Map<bigint, RabinTables>();

function build(pol: bigint): RabinTables {
  const deg = degree(pol);
  if (deg < MIN_DEGREE || deg > MAX_DEGREE) {
    throw new LifeboatError(
      'UNSUPPORTED',
      `chunker polynomial ${pol.toString(16)} has degree ${deg}; supported are ${MIN_DEGREE}–${MAX_DEGREE}`,
    );
  }
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
  const out = new BigUint64Array(256);
  const mod = new BigUint64Array(256);
  for (let b = 1; b < 256; b++) {
    const low = 31 - Math.clz32(b & -b);
    out[b] = out[b & (b - 1)]! ^ outBits[low]!;
    mod[b] = mod[b & (b - 1)]! ^ modBits[low]!;
  }
  return { pol, shift: deg - 8, out, mod };
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
