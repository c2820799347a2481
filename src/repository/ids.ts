/** Ids in a restic repository: lowercase hex SHA-256 (restic design: "Storage ID"). */
import { createHash } from 'node:crypto';

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
