/**
 * Turns a blob's plaintext into what a pack stores (restic design, "Pack format" and
 * "Compression"): zstd-compressed when that makes it smaller (tree blobs always, in v2
 * repositories), then encrypted. Synchronous, so a chunk worker can seal on its own thread.
 *
 * sealInto() writes into a caller's buffer and allocates nothing large: a chunk worker seals
 * straight into its shared ring (archiver/chunk-ring.ts). sealBlob() returns a buffer of its
 * own, for callers that keep the blob.
 */
import type { BlobType } from '../blob.js';
import { CIPHERTEXT_OVERHEAD, PLAINTEXT_OFFSET, type MasterKey } from '../crypto/master-key.js';
import { zstdCompressBound, zstdCompressInto, type CompressionMode } from '../zstd.js';

/** Data blobs shorter than this are stored uncompressed: zstd would not win anything. */
const MIN_COMPRESS = 128;

export interface SealedBlob {
  /** IV ‖ ciphertext ‖ MAC. */
  sealed: Buffer;
  /** The plaintext length when the payload is compressed; undefined when it is not. */
  uncompressed: number | undefined;
}

/** Room sealInto() needs for `length` bytes of plaintext. */
export function sealCapacity(length: number): number {
  return Math.max(zstdCompressBound(length), length) + CIPHERTEXT_OVERHEAD;
}

/**
 * Seals `data` into `dst` (at least sealCapacity(data.length) bytes) and returns the sealed
 * length and, if the payload is compressed, the plaintext length.
 */
export function sealInto(
  key: MasterKey,
  type: BlobType,
  data: Uint8Array,
  mode: CompressionMode,
  dst: Uint8Array,
): { length: number; uncompressed: number | undefined } {
  const payload = dst.subarray(PLAINTEXT_OFFSET, dst.length - CIPHERTEXT_OVERHEAD / 2);
  // restic design: in v2, tree blobs are always compressed; other blobs that would not
  // shrink may be stored as they are.
  const small = data.length < MIN_COMPRESS;
  if (mode !== 'off' && (type === 'tree' || !small)) {
    const packed = zstdCompressInto(payload, data, mode);
    if (packed < data.length || small) {
      return { length: key.encryptInPlace(dst, packed), uncompressed: data.length };
    }
  }
  payload.set(data);
  return { length: key.encryptInPlace(dst, data.length), uncompressed: undefined };
}

/** This thread's buffer for sealBlob(), grown to the largest blob sealed so far. */
let scratch = Buffer.alloc(0);

/** sealInto() into a buffer of the blob's exact size. */
export function sealBlob(
  key: MasterKey,
  type: BlobType,
  data: Uint8Array,
  mode: CompressionMode,
): SealedBlob {
  const capacity = sealCapacity(data.length);
  if (scratch.length < capacity) scratch = Buffer.allocUnsafeSlow(capacity);
  const r = sealInto(key, type, data, mode, scratch);
  return { sealed: Buffer.from(scratch.subarray(0, r.length)), uncompressed: r.uncompressed };
}
