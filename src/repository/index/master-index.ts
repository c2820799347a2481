/**
 * The in-memory union of all index files: blob id → where it is. Several index files may
 * list the same blob (restic design: indexes may overlap); the first location wins for
 * reading, and check compares them all.
 */
import { locatedIn, type BlobLocation, type BlobType, type PackedBlob } from '../blob.js';

export class MasterIndex {
  private readonly data = new Map<string, BlobLocation>();
  private readonly tree = new Map<string, BlobLocation>();
  private readonly packBlobs = new Map<string, number>();

  addPack(packId: string, blobs: readonly PackedBlob[]): void {
    this.packBlobs.set(packId, (this.packBlobs.get(packId) ?? 0) + blobs.length);
    for (const b of blobs) {
      const map = b.type === 'data' ? this.data : this.tree;
      if (!map.has(b.id)) map.set(b.id, locatedIn(b, packId));
    }
  }

  has(type: BlobType, id: string): boolean {
    return (type === 'data' ? this.data : this.tree).has(id);
  }

  lookup(type: BlobType, id: string): BlobLocation | undefined {
    return (type === 'data' ? this.data : this.tree).get(id);
  }

  /** Ids of every indexed blob of one type. */
  ids(type: BlobType): IterableIterator<string> {
    return (type === 'data' ? this.data : this.tree).keys();
  }

  /** Every pack that any index mentions. */
  packIds(): IterableIterator<string> {
    return this.packBlobs.keys();
  }

  hasPack(packId: string): boolean {
    return this.packBlobs.has(packId);
  }

  blobs(): IterableIterator<BlobLocation> {
    return concat(this.data.values(), this.tree.values());
  }

  get size(): number {
    return this.data.size + this.tree.size;
  }
}

function* concat<T>(...its: Iterable<T>[]): IterableIterator<T> {
  for (const it of its) yield* it;
}
