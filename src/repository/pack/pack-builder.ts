/**
 * Accumulates encrypted blobs of one type into a pack. The bytes go straight to a staged file
 * when the backend offers one (local: a temp file, so a pack is never held in memory), else
 * they are copied into parts kept for one save(). Either way add() is done with the caller's
 * bytes when it returns.
 */
import { createHash } from 'node:crypto';
import type { SaveData, StagedFile } from '../../storage/backend.js';
import type { BlobType, PackedBlob } from '../blob.js';
import type { MasterKey } from '../crypto/master-key.js';
import { encodeHeader } from './pack-header.js';

export interface FinishedPack {
  id: string;
  data: SaveData;
  size: number;
  blobs: PackedBlob[];
}

export class PackBuilder {
  private readonly parts: Buffer[] = [];
  private readonly blobs: PackedBlob[] = [];
  private readonly hash = createHash('sha256');
  private staged: StagedFile | undefined;
  private bytes = 0;

  /** `stage` starts the staged file, on the first add(); without it, parts are kept. */
  constructor(
    readonly type: BlobType,
    private readonly stage?: () => StagedFile,
  ) {}

  get size(): number {
    return this.bytes;
  }

  get count(): number {
    return this.blobs.length;
  }

  add(id: string, sealed: Uint8Array, uncompressedLength: number | undefined): void {
    const blob: PackedBlob = { id, type: this.type, offset: this.bytes, length: sealed.length };
    if (uncompressedLength !== undefined) blob.uncompressedLength = uncompressedLength;
    this.append(sealed);
    this.blobs.push(blob);
  }

  private append(bytes: Uint8Array): void {
    if (this.stage) {
      this.staged ??= this.stage();
      this.staged.write(bytes);
    } else {
      this.parts.push(Buffer.from(bytes));
    }
    this.hash.update(bytes);
    this.bytes += bytes.length;
  }

  /** Appends the encrypted header and its length; the pack id is the hash of all bytes. */
  finish(key: MasterKey): FinishedPack {
    const header = key.encrypt(encodeHeader(this.blobs));
    const trailer = Buffer.allocUnsafe(4);
    trailer.writeUInt32LE(header.length, 0);
    this.append(header);
    this.append(trailer);
    return {
      id: this.hash.digest('hex'),
      data: this.staged ?? this.parts,
      size: this.bytes,
      blobs: this.blobs,
    };
  }

  /** Drops a pack that will not be saved (its staged file, if any). */
  async discard(): Promise<void> {
    await this.staged?.discard();
  }
}
