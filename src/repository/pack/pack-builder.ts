/** Accumulates encrypted blobs of one type and seals them into a pack. */
import { webcrypto } from 'node:crypto';
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
   * pack is joined into one buffer and hashed on the thread pool (WebCrypto's digest runs
   * there): hashing 16 MiB is ~8 ms that the thread packing the next blobs need not spend.
   */
  async finish(
    key: MasterKey,
  ): Promise<{ id: string; parts: Buffer[]; size: number; blobs: PackedBlob[] }> {
    const header = key.encrypt(encodeHeader(this.blobs));
    const trailer = Buffer.allocUnsafe(4);
    trailer.writeUInt32LE(header.length, 0);
    const size = this.bytes + header.length + 4;
    const pack = Buffer.concat([...this.parts, header, trailer], size);
    this.parts.length = 0;
    const digest = await webcrypto.subtle.digest('SHA-256', pack);
    return { id: Buffer.from(digest).toString('hex'), parts: [pack], size, blobs: this.blobs };
  }
}
