/**
 * Turns an encrypted blob read from its pack back into its plaintext, checking everything the
 * index says about it (restic design: the MAC, then the id is the SHA-256 of the plaintext).
 * The synchronous form lets a worker thread open blobs; both forms fail with the same
 * INTEGRITY messages, which name the blob and its pack.
 */
import { LifeboatError } from '../core/errors.js';
import { plaintextLength, type BlobLocation } from './blob.js';
import { MAX_CHUNK } from './chunker/chunker.js';
import type { MasterKey } from './crypto/master-key.js';
import { GcPacer } from './gc-pacer.js';
import { sha256Hex, sha256HexOffThread } from './ids.js';
import { zstdDecompressInto } from './zstd.js';

/** A directory of ~300,000 entries; larger tree blobs are treated as damage. */
const MAX_TREE_BLOB = 64 * 1024 * 1024;

/**
 * openBlob() hashes larger plaintexts on the thread pool: a restore that feeds one stream (a
 * base backup into tar, a dump into pg_restore, WAL into the spool) spent ~40% of its main
 * thread on SHA-256.
 */
const ASYNC_VERIFY = 256 * 1024;

function where(loc: BlobLocation): string {
  return `${loc.type} blob ${loc.id} in pack ${loc.packId}`;
}

/**
 * Each blob opened leaves its ciphertext, the decrypted and the decompressed buffers dead
 * behind it, outside the V8 heap: see gc-pacer.ts.
 */
const gcPacer = new GcPacer(8 * 1024 * 1024);

/** `inPlace` (for a Buffer the caller owns): decrypted where it lies, no new buffer. */
function decrypt(key: MasterKey, loc: BlobLocation, raw: Uint8Array, inPlace = false): Buffer {
  gcPacer.count(raw.length);
  try {
    return inPlace && Buffer.isBuffer(raw) ? key.decryptInPlace(raw) : key.decrypt(raw);
  } catch (cause) {
    throw new LifeboatError('INTEGRITY', `${where(loc)}: ciphertext verification failed`, {
      cause,
      details: { packId: loc.packId, blobId: loc.id },
    });
  }
}

/** Data blobs come from the chunker (at most 8 MiB); trees are JSON of one directory. */
function limitOf(loc: BlobLocation): number {
  return loc.type === 'data' ? MAX_CHUNK : MAX_TREE_BLOB;
}

/** `hash`: the plaintext's SHA-256 when the caller computed it already. */
function verified(loc: BlobLocation, plain: Buffer, hash?: string): Buffer {
  if (plain.length !== plaintextLength(loc) || (hash ?? sha256Hex(plain)) !== loc.id) {
    throw new LifeboatError('INTEGRITY', `${where(loc)}: content does not match its id`, {
      details: { packId: loc.packId, blobId: loc.id },
    });
  }
  return plain;
}

/**
 * `inPlace`: `raw` is the caller's own and used once, so it is decrypted where it lies (one
 * buffer less per blob).
 */
export async function openBlob(
  key: MasterKey,
  loc: BlobLocation,
  raw: Uint8Array,
  inPlace = false,
): Promise<Buffer> {
  const out = decompressed(loc, decrypt(key, loc, raw, inPlace));
  if (out.length < ASYNC_VERIFY) return verified(loc, out);
  return verified(loc, out, await sha256HexOffThread(out));
}

export function openBlobSync(key: MasterKey, loc: BlobLocation, raw: Uint8Array): Buffer {
  return verified(loc, decompressed(loc, decrypt(key, loc, raw)));
}

/**
 * The plaintext of a decrypted blob, decompressed on this thread into a buffer of exactly the
 * length the index gives. Always here, never on the thread pool: zstd-napi's context fills a
 * buffer of known size at memory speed, while the pooled binding (@mongodb-js/zstd) took
 * 7-60x longer for the same 1 MiB blobs (it grows its output as it goes), which made a
 * base backup's extraction wait on decompression.
 */
function decompressed(loc: BlobLocation, plain: Buffer): Buffer {
  const n = loc.uncompressedLength;
  if (n === undefined) return plain;
  const limit = limitOf(loc);
  // A length past the limit is refused before anything is written or allocated.
  return zstdDecompressInto(Buffer.allocUnsafe(n <= limit ? n : 0), plain, n, where(loc), limit);
}

/**
 * openBlobSync() that allocates nothing: `raw` is decrypted where it lies (its ciphertext is
 * gone afterwards) and a compressed blob is decompressed into `out`, which grows to the largest
 * blob seen. Returns a view of `raw` or of `out.buffer`, valid until the next call with them.
 */
export function openBlobInPlace(
  key: MasterKey,
  loc: BlobLocation,
  raw: Buffer,
  out: { buffer: Buffer },
): Buffer {
  const plain = decrypt(key, loc, raw, true);
  const n = loc.uncompressedLength;
  if (n === undefined) return verified(loc, plain);
  if (n <= limitOf(loc) && out.buffer.length < n) out.buffer = Buffer.allocUnsafeSlow(n);
  return verified(loc, zstdDecompressInto(out.buffer, plain, n, where(loc), limitOf(loc)));
}
