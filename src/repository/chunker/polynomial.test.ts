import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isLifeboatError } from '../../core/errors.js';
import {
  degree,
  formatPolynomial,
  isIrreducible,
  parsePolynomial,
  polyMod,
  randomPolynomial,
} from './polynomial.js';

/** Carry-less product, for building known reducible polynomials. */
function mul(a: bigint, b: bigint): bigint {
  let r = 0n;
  for (let i = 0n; b >> i !== 0n; i++) if (((b >> i) & 1n) === 1n) r ^= a << i;
  return r;
}

test('degree and remainder', () => {
  assert.equal(degree(0n), -1);
  assert.equal(degree(1n), 0);
  assert.equal(degree(0b1011n), 3);
  assert.equal(degree(1n << 53n), 53);
  // x^3 mod (x^2 + x + 1) = 1
  assert.equal(polyMod(0b1000n, 0b111n), 1n);
  assert.equal(polyMod(mul(0b1011n, 0b111n), 0b1011n), 0n);
});

test('small irreducible and reducible polynomials', () => {
  const irreducible = [0b10n, 0b11n, 0b111n, 0b1011n, 0b1101n, 0b10011n, 0b100011011n];
  for (const p of irreducible) assert.equal(isIrreducible(p), true, p.toString(2));
  const reducible = [
    0n,
    1n,
    0b100n, // x^2
    0b101n, // x^2 + 1 = (x + 1)^2
    0b110n, // x^2 + x = x (x + 1)
    0b1111n, // x^3 + x^2 + x + 1 = (x + 1)^3
    0b10101n, // x^4 + x^2 + 1 = (x^2 + x + 1)^2
    mul(0b111n, 0b1011n), // degree 5, no linear factor
  ];
  for (const p of reducible) assert.equal(isIrreducible(p), false, p.toString(2));
});

test('degree-53 examples: restic polynomials are irreducible, products are not', () => {
  // Polynomials that real `restic init` wrote into repository configs.
  for (const hex of ['3cee2d223ad491', '393bc719804d5b', '35e9342a712d71']) {
    assert.equal(isIrreducible(parsePolynomial(hex)), true, hex);
  }
  // A product of irreducible factors of degrees 26 and 27 has no factor of degree ≤ 25, so
  // only the last rounds of the test can catch it.
  const firstIrreducible = (deg: bigint): bigint => {
    let p = (1n << deg) | 1n;
    while (!isIrreducible(p)) p += 2n;
    return p;
  };
  const f = mul(firstIrreducible(26n), firstIrreducible(27n));
  assert.equal(degree(f), 53);
  assert.equal(isIrreducible(f), false);
  assert.equal(isIrreducible(mul(0b111n, 0b111n) << 49n), false);
});

test('randomPolynomial has degree 53, constant term 1, and is irreducible', () => {
  const seen = new Set<bigint>();
  for (let i = 0; i < 5; i++) {
    const p = randomPolynomial();
    assert.equal(degree(p), 53);
    assert.equal(p & 1n, 1n);
    assert.equal(isIrreducible(p), true);
    seen.add(p);
  }
  assert.ok(seen.size > 1, 'polynomials are random');
});

test('parse and format polynomials as restic writes them', () => {
  assert.equal(parsePolynomial('3cee2d223ad491'), 0x3cee2d223ad491n);
  assert.equal(parsePolynomial('3CEE2D223AD491'), 0x3cee2d223ad491n);
  assert.equal(parsePolynomial('003cee2d223ad491'), 0x3cee2d223ad491n);
  assert.equal(formatPolynomial(0x3cee2d223ad491n), '3cee2d223ad491');
  const p = randomPolynomial();
  assert.equal(parsePolynomial(formatPolynomial(p)), p);
  for (const bad of ['', 'xyz', '0x3cee', '3cee 2d', '-1', '1'.repeat(17), '3cee2d223ad491\n']) {
    assert.throws(
      () => parsePolynomial(bad),
      (err: unknown) => isLifeboatError(err, 'INTEGRITY'),
      JSON.stringify(bad),
    );
  }
});
