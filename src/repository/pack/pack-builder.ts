/** Accumulates encrypted blobs of one type and seals them into a pack. */
import { createHash } from 'node:crypto';
import type { BlobType, PackedBlob } from '../blob.js';
import type { MasterKey } from '../crypto/master-key.js';
import { encodeHeader } from './pack-header.js';

export class PackBuilder {
  private readonly parts: Buffer[] = [];
  private readonly blobs: PackedBlob[] = [];
  private bytes = 0;

  constructor(readonly type: BlobType) {}

  get size(): number {
    return this.bytes;
  }

  get count(): number {
    return this.blobs.length;
  }

  add(id: string, sealed: Buffer, uncompressedLength: number | undefined): void {
    const blob: PackedBlob = { id, type: this.type, offset: this.bytes, length: sealed.length };
    if (uncompressedLength !== undefined) blob.uncompressedLength = uncompressedLength;
    this.blobs.push(blob);
    this.parts.push(sealed);
    this.bytes += sealed.length;
  }

  /**
   * Appends the encrypted header and its length; the pack id is the hash of all bytes. The
   * pack is returned as parts, which backends write back to back without joining them.
   */
  finish(key: MasterKey): { id: string; parts: Buffer[]; size: number; blobs: PackedBlob[] } {
    const header = key.encrypt(encodeHeader(this.blobs));
    const trailer = Buffer.allocUnsafe(4);
    trailer.writeUInt32LE(header.length, 0);
    const parts = [...this.parts, header, trailer];
    const hash = createHash('sha256');
    for (const p of parts) hash.update(p);
    const size = this.bytes + header.length + 4;
    return { id: hash.digest('hex'), parts, size, blobs: this.blobs };
  }
}
