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
const MIN_COMPRESS = 128;

export interface SealedBlob {
  /** IV ‖ ciphertext ‖ MAC. */
  sealed: Buffer;
  /** The plaintext length when the payload is compressed; undefined when it is not. */
  uncompressed: number | undefined;
}

export function sealBlob(
  key: MasterKey,
  type: BlobType,
  data: Buffer,
  mode: CompressionMode,
): SealedBlob {
  // restic design: in v2, tree blobs are always compressed; other blobs that would not
  // shrink may be stored as they are.
  const small = data.length < MIN_COMPRESS;
  if (mode !== 'off' && (type === 'tree' || !small)) {
    const packed = zstdCompressSync(data, mode);
    if (packed.length < data.length || small) {
      return { sealed: key.encrypt(packed), uncompressed: data.length };
    }
  }
  return { sealed: key.encrypt(data), uncompressed: undefined };
}
