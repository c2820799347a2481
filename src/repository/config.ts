/**
 * The repository config file (restic design: encrypted JSON, never compressed):
 * {"version":2,"id":"<64 hex>","chunker_polynomial":"<hex>"}.
 */
import { randomBytes } from 'node:crypto';
import { LifeboatError } from '../core/errors.js';
import { isIrreducible, parsePolynomial, formatPolynomial } from './chunker/polynomial.js';
import { isId } from './ids.js';

export interface RepoConfig {
  version: 1 | 2;
  id: string;
  chunkerPolynomial: bigint;
}

export function newConfig(polynomial: bigint): RepoConfig {
  return { version: 2, id: randomBytes(32).toString('hex'), chunkerPolynomial: polynomial };
}

export function encodeConfig(c: RepoConfig): Buffer {
  return Buffer.from(
    JSON.stringify({
      version: c.version,
      id: c.id,
      chunker_polynomial: formatPolynomial(c.chunkerPolynomial),
    }),
  );
}

export function decodeConfig(plaintext: Uint8Array): RepoConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(plaintext).toString('utf8'));
  } catch (cause) {
    throw new LifeboatError('INTEGRITY', 'config: not valid JSON', { cause });
  }
  if (typeof raw !== 'object' || raw === null) {
    throw new LifeboatError('INTEGRITY', 'config: not a JSON object');
  }
  const r = raw as Record<string, unknown>;
  if (r.version !== 1 && r.version !== 2) {
    throw new LifeboatError(
      'UNSUPPORTED',
      `config: repository version ${String(r.version)} is not supported (1 and 2 are)`,
    );
  }
  if (!isId(r.id)) throw new LifeboatError('INTEGRITY', 'config: id is not a 64-digit hex id');
  if (typeof r.chunker_polynomial !== 'string') {
    throw new LifeboatError('INTEGRITY', 'config: chunker_polynomial missing');
  }
  const pol = parsePolynomial(r.chunker_polynomial);
  // restic design: the polynomial must be irreducible; a reducible one means a damaged or
  // hostile config, and chunk boundaries would not match restic's.
  if (!isIrreducible(pol)) {
    throw new LifeboatError('INTEGRITY', 'config: chunker polynomial is not irreducible');
  }
  return { version: r.version, id: r.id, chunkerPolynomial: pol };
}
