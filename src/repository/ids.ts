/** Ids in a restic repository: lowercase hex SHA-256 (restic design: "Storage ID"). */
import { createHash } from 'node:crypto';
import { LifeboatError } from '../core/errors.js';

const ID_RE = /^[0-9a-f]{64}$/;

export function isId(s: unknown): s is string {
  return typeof s === 'string' && ID_RE.test(s);
}

export function sha256(data: Uint8Array): Buffer {
  return createHash('sha256').update(data).digest();
}

export function sha256Hex(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

export function assertId(s: unknown, what: string): string {
  if (!isId(s)) throw new LifeboatError('INTEGRITY', `${what}: not a valid id: ${String(s)}`);
  return s;
}

/** Short form for display, as restic prints it. */
export function shortId(id: string): string {
  return id.slice(0, 8);
}
