/**
 * Polynomials over GF(2), bit i of the bigint being the coefficient of x^i. The repository's
 * chunker polynomial is a random irreducible polynomial of degree 53 (RESTIC-FORMAT.md,
 * "config"), stored in the config as lowercase hex.
 */
import { randomBytes } from 'node:crypto';
import { LifeboatError } from '../../core/errors.js';

/** Degree of p; -1 for the zero polynomial. */
export function degree(p: bigint): number {
  return p === 0n ? -1 : p.toString(2).length - 1;
}

/** Remainder of a divided by m (m non-zero). */
export function polyMod(a: bigint, m: bigint): bigint {
  const dm = degree(m);
  if (dm < 0) throw new LifeboatError('INTERNAL', 'polynomial division by zero');
  for (let da = degree(a); da >= dm; da = degree(a)) a ^= m << BigInt(da - dm);
  return a;
}

/** a·b mod m, with a and b already reduced mod m. */
function mulMod(a: bigint, b: bigint, m: bigint): bigint {
  const top = 1n << BigInt(degree(m));
  let res = 0n;
  while (b !== 0n) {
    if ((b & 1n) === 1n) res ^= a;
    b >>= 1n;
    a <<= 1n;
    if ((a & top) !== 0n) a ^= m;
  }
  return res;
}

function gcd(a: bigint, b: bigint): bigint {
  while (b !== 0n) [a, b] = [b, polyMod(a, b)];
  return a;
}

/**
 * Ben-Or's test: p of degree d is irreducible iff it has no factor of degree ≤ d/2, i.e.
 * gcd(x^(2^i) − x mod p, p) = 1 for every i in 1..d/2 (the product of all irreducible
 * polynomials whose degree divides i is x^(2^i) − x).
 */
export function isIrreducible(p: bigint): boolean {
  if (p < 0n) return false;
  const d = degree(p);
  if (d < 1) return false;
  const x = polyMod(2n, p);
  let sq = x; // x^(2^i) mod p
  for (let i = 1; i <= d >> 1; i++) {
    sq = mulMod(sq, sq, p);
    if (gcd(p, sq ^ x) !== 1n) return false;
  }
  return true;
}

const MAX_TRIES = 1_000_000;

/** A random irreducible polynomial of degree 53 with constant term 1, as restic makes. */
export function randomPolynomial(): bigint {
  const mask = (1n << 54n) - 1n;
  for (let i = 0; i < MAX_TRIES; i++) {
    const p = (randomBytes(8).readBigUInt64LE() & mask) | (1n << 53n) | 1n;
    if (isIrreducible(p)) return p;
  }
  throw new LifeboatError('INTERNAL', 'no irreducible polynomial found');
}

/** Parses the config's "chunker_polynomial" (hex of an unsigned 64-bit value). */
export function parsePolynomial(hex: string): bigint {
  // Go's strconv.ParseUint(s, 16, 64) semantics: any case, leading zeros, at most 64 bits.
  const p = /^[0-9a-fA-F]{1,64}$/.test(hex) ? BigInt(`0x${hex}`) : -1n;
  if (p < 0n || p >= 1n << 64n) {
    throw new LifeboatError(
      'INTEGRITY',
      `chunker polynomial ${JSON.stringify(hex.slice(0, 80))} is not a 64-bit hex number`,
    );
  }
  return p;
}

/** Lowercase hex without leading zeros, as restic writes it. */
export function formatPolynomial(p: bigint): string {
  if (p < 0n || p >= 1n << 64n) {
    throw new LifeboatError('INTERNAL', 'chunker polynomial out of range');
  }
  return p.toString(16);
}
