/**
 * Turns a blob's plaintext into what a pack stores (restic design, "Pack format" and
 * "Compression"): zstd-compressed when that makes it smaller (tree blobs always, in v2
 * repositories), then encrypted. Synchronous, so a chunk worker can seal a small blob on its
 * own thread; large blobs go through BlobWriter's thread-pool path instead.
 */
import type { BlobType } from '../blob.js';
import type { MasterKey } from '../crypto/master-key.js';
import { zstdCompressSync, type CompressionMode } from '../zstd.js';

/** Data blobs shorter than this are stored uncompressed: zstd would not win anything. */
export const MIN_COMPRESS = 128;

export interface SealedBlob {
  /** IV ‖ ciphertext ‖ MAC. */
  sealed: Buffer;
  /** The plaintext length when the payload is compressed; undefined when it is not. */
  uncompressed: number | undefined;
}

/** What sealBlob would compress, to pick the same payload on the asynchronous path. */
export function compressionFor(
  type: BlobType,
  length: number,
  mode: CompressionMode,
): 'no' | 'if-smaller' | 'always' {
  if (mode === 'off') return 'no';
  if (length >= MIN_COMPRESS) return 'if-smaller';
  return type === 'tree' ? 'always' : 'no';
}

export function sealBlob(
  key: MasterKey,
  type: BlobType,
  data: Buffer,
  mode: CompressionMode,
): SealedBlob {
  const how = mode === 'off' ? 'no' : compressionFor(type, data.length, mode);
  if (how === 'no' || mode === 'off') return { sealed: key.encrypt(data), uncompressed: undefined };
  const packed = zstdCompressSync(data, mode);
  if (how === 'if-smaller' && packed.length >= data.length) {
    return { sealed: key.encrypt(data), uncompressed: undefined };
  }
  return { sealed: key.encrypt(packed), uncompressed: data.length };
}
