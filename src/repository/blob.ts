/** Blob types and locations shared by packs, the index and the restorer. */
export type BlobType = 'data' | 'tree';

/** Where one encrypted blob lies inside a pack (restic design: index entries). */
export interface PackedBlob {
  id: string;
  type: BlobType;
  /** Offset of the encrypted blob inside the pack. */
  offset: number;
  /** Length of the encrypted blob (IV + ciphertext + MAC). */
  length: number;
  /** Plaintext length before compression; absent for uncompressed blobs. */
  uncompressedLength?: number;
}

export interface BlobLocation extends PackedBlob {
  packId: string;
}

/** Plaintext size of a blob: what restoring it yields. */
export function plaintextLength(b: PackedBlob): number {
  return b.uncompressedLength ?? b.length - 32;
}
