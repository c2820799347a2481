/** Ids in a restic repository: lowercase hex SHA-256 (restic design: "Storage ID"). */
import { createHash, webcrypto } from 'node:crypto';

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

/** sha256Hex() computed on the thread pool (WebCrypto's digest): the caller's thread goes on. */
export async function sha256HexOffThread(data: Uint8Array): Promise<string> {
  return Buffer.from(await webcrypto.subtle.digest('SHA-256', data)).toString('hex');
}
