/**
 * Pack headers (restic design, "Pack Format"): a pack is the encrypted blobs back to back,
 * then the encrypted header, then the header's encrypted length as uint32 little endian.
 * Header entries: type byte, encrypted length u32le, [uncompressed length u32le], SHA-256.
 */
import { LifeboatError } from '../../core/errors.js';
import type { BlobType, PackedBlob } from '../blob.js';
import { CIPHERTEXT_OVERHEAD } from '../crypto/master-key.js';

const PLAIN_ENTRY = 37;
const COMPRESSED_ENTRY = 41;
/** restic design: a header holds at most 16 MiB of entries. */
export const MAX_HEADER_SIZE = 16 * 1024 * 1024 + CIPHERTEXT_OVERHEAD;

export function encodeHeader(blobs: readonly PackedBlob[]): Buffer {
  let size = 0;
  for (const b of blobs)
    size += b.uncompressedLength === undefined ? PLAIN_ENTRY : COMPRESSED_ENTRY;
  const out = Buffer.allocUnsafe(size);
  let pos = 0;
  for (const b of blobs) {
    const compressed = b.uncompressedLength !== undefined;
    out[pos] = (b.type === 'data' ? 0 : 1) + (compressed ? 2 : 0);
    out.writeUInt32LE(b.length, pos + 1);
    pos += 5;
    if (compressed) {
      out.writeUInt32LE(b.uncompressedLength!, pos);
      pos += 4;
    }
    pos += out.write(b.id, pos, 32, 'hex');
  }
  return out;
}

/**
 * Parses a decrypted header. Offsets are implied by the order of the entries; the entries
 * must exactly fill the pack up to where the header starts (`dataEnd`).
 */
export function decodeHeader(plain: Buffer, dataEnd: number, packId: string): PackedBlob[] {
  const blobs: PackedBlob[] = [];
  let pos = 0;
  let offset = 0;
  while (pos < plain.length) {
    const t = plain[pos]!;
    if (t > 3) throw headerError(packId, `unknown blob type ${t} in entry ${blobs.length}`);
    const compressed = t >= 2;
    const entrySize = compressed ? COMPRESSED_ENTRY : PLAIN_ENTRY;
    if (pos + entrySize > plain.length) throw headerError(packId, 'truncated header entry');
    const length = plain.readUInt32LE(pos + 1);
    const uncompressedLength = compressed ? plain.readUInt32LE(pos + 5) : undefined;
    const id = plain.toString('hex', pos + entrySize - 32, pos + entrySize);
    const type: BlobType = t % 2 === 0 ? 'data' : 'tree';
    if (length < CIPHERTEXT_OVERHEAD) {
      throw headerError(packId, `blob ${id} is shorter than the encryption overhead`);
    }
    if (offset + length > dataEnd) {
      throw headerError(packId, `blob ${id} at ${offset}+${length} runs past the header`);
    }
    const blob: PackedBlob = { id, type, offset, length };
    if (uncompressedLength !== undefined) blob.uncompressedLength = uncompressedLength;
    blobs.push(blob);
    offset += length;
    pos += entrySize;
  }
  if (offset !== dataEnd) {
    throw headerError(packId, `blobs cover ${offset} bytes but the header starts at ${dataEnd}`);
  }
  return blobs;
}

function headerError(packId: string, message: string): LifeboatError {
  return new LifeboatError('INTEGRITY', `pack ${packId}: ${message}`, { details: { packId } });
}
