/**
 * Unpacked files: index, snapshots, locks (restic design, repository v2). The plaintext is
 * either raw JSON (v1, first byte `{` or `[`) or 0x02 followed by one zstd frame of the JSON.
 * The file is encrypted as a whole and named by the SHA-256 of its ciphertext. They are small
 * (an index file of 64 packs is ~1 MiB of JSON), so zstd runs on this thread (zstd.ts).
 */
import { LifeboatError } from '../core/errors.js';
import type { MasterKey } from './crypto/master-key.js';
import { zstdCompressSync, zstdDecompressSync } from './zstd.js';

const V2_COMPRESSED = 0x02;

export function encodeUnpacked(key: MasterKey, json: unknown, version: 1 | 2): Buffer {
  const text = Buffer.from(JSON.stringify(json));
  if (version === 1) return key.encrypt(text);
  const packed = zstdCompressSync(text, 'auto');
  const plain = Buffer.allocUnsafe(packed.length + 1);
  plain[0] = V2_COMPRESSED;
  packed.copy(plain, 1);
  return key.encrypt(plain);
}

/** Decrypts (MAC first), decompresses and parses; `what` names the file in errors. */
export function decodeUnpacked(key: MasterKey, data: Uint8Array, what: string): unknown {
  let plain: Buffer;
  try {
    plain = key.decrypt(data);
  } catch (cause) {
    throw new LifeboatError('INTEGRITY', `${what}: ciphertext verification failed`, { cause });
  }
  const first = plain[0];
  let text: Buffer;
  if (first === V2_COMPRESSED) {
    text = zstdDecompressSync(plain.subarray(1), undefined, what);
  } else if (first === 0x7b || first === 0x5b) {
    text = plain;
  } else {
    throw new LifeboatError('INTEGRITY', `${what}: unknown encoding byte ${String(first)}`);
  }
  try {
    return JSON.parse(text.toString('utf8')) as unknown;
  } catch (cause) {
    throw new LifeboatError('INTEGRITY', `${what}: not valid JSON`, { cause });
  }
}
