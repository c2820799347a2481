/**
 * Unpacked files: index, snapshots, locks (restic design, repository v2). The plaintext is
 * either raw JSON (v1, first byte `{` or `[`) or 0x02 followed by one zstd frame of the JSON.
 * The file is encrypted as a whole and named by the SHA-256 of its ciphertext.
 */
import { LifeboatError } from '../core/errors.js';
import type { MasterKey } from './crypto/master-key.js';
import { zstdCompress, zstdDecompress } from './zstd.js';

const V2_COMPRESSED = 0x02;

export async function encodeUnpacked(key: MasterKey, json: unknown, version: 1 | 2) {
  const text = Buffer.from(JSON.stringify(json));
  if (version === 1) return key.encrypt(text);
  const packed = await zstdCompress(text, 'auto');
  const plain = Buffer.allocUnsafe(packed.length + 1);
  plain[0] = V2_COMPRESSED;
  packed.copy(plain, 1);
  return key.encrypt(plain);
}

/** Decrypts (MAC first), decompresses and parses; `what` names the file in errors. */
export async function decodeUnpacked(key: MasterKey, data: Uint8Array, what: string) {
  let plain: Buffer;
  try {
    plain = key.decrypt(data);
  } catch (cause) {
    throw new LifeboatError('INTEGRITY', `${what}: ciphertext verification failed`, { cause });
  }
  const first = plain[0];
  let text: Buffer;
  if (first === V2_COMPRESSED) {
    text = await zstdDecompress(plain.subarray(1), undefined, what);
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
