/**
 * Writes blobs into packs. Deduplicates against the index and against blobs written in this
 * session, compresses (large blobs on the thread pool, small ones here: see zstd.ts), encrypts,
 * fills packs of ~16 MiB, uploads them with bounded concurrency and writes index files for
 * uploaded packs only. Blobs a chunk worker already sealed come in through saveSealed(), and
 * sealHere() seals on this thread without a thread-pool round trip. Packs go to a staged file
 * as they fill when the backend offers one (see pack-builder.ts).
 *
 * Crash safety (restic design: packs, then index, then snapshot): an index entry is written
 * only after its pack is durable, and callers write the snapshot only after flush().
 * save() may be called concurrently; memory stays bounded by the upload and compression limits.
 */
import { Semaphore } from '../../core/concurrency.js';
import { GcPacer } from '../gc-pacer.js';
import type { BlobType } from '../blob.js';
import { sha256Hex } from '../ids.js';
import { encodeIndex, type IndexPack } from '../index/index-file.js';
import type { Repository } from '../repository.js';
import { zstdCompress } from '../zstd.js';
import { PackBuilder, type FinishedPack } from './pack-builder.js';
import { sealCapacity, sealInto, type SealedBlob } from './seal.js';

export interface BlobWriterOptions {
  /** Target pack size in bytes (restic: 16 MiB default, 4–128 MiB allowed). */
  packSize?: number;
  /** Packs uploading at once (default 1: one pack fills while the previous one is written). */
  uploads?: number;
  /** Write an index file after this many packs (restic writes one every ~50k blobs). */
  packsPerIndex?: number;
  signal?: AbortSignal;
  /** Told about every data blob this writer takes on (see archiver/known-filter.ts). */
  onPending?: (id: string) => void;
}

export interface BlobWriterStats {
  /** Blobs newly added to the repository. */
  blobsAdded: number;
  /** Plaintext bytes of the newly added blobs. */
  bytesAdded: number;
  /** Bytes written into packs (after compression and encryption). */
  bytesStored: number;
  packsWritten: number;
  indexesWritten: number;
}

/** Blobs up to this size are compressed on this thread: cheaper than a thread-pool round trip. */
const SYNC_SEAL = 32 * 1024;

export class BlobWriter {
  readonly stats: BlobWriterStats = {
    blobsAdded: 0,
    bytesAdded: 0,
    bytesStored: 0,
    packsWritten: 0,
    indexesWritten: 0,
  };
  private readonly pending = new Set<string>();
  private builders: Record<BlobType, PackBuilder>;
  private readonly uploads: Semaphore;
  private readonly compressions = new Semaphore(4);
  private readonly inflight = new Set<Promise<void>>();
  private unindexed: IndexPack[] = [];
  /** sealHere()'s buffer, grown to the largest blob sealed so far. */
  private scratch = Buffer.alloc(0);
  /** Encryption leaves dead buffers behind: see gc-pacer.ts. */
  private readonly gcPacer = new GcPacer(8 * 1024 * 1024);
  private failure: unknown;
  private readonly packSize: number;
  private readonly packsPerIndex: number;

  constructor(
    private readonly repo: Repository,
    private readonly options: BlobWriterOptions = {},
  ) {
    this.packSize = options.packSize ?? 16 * 1024 * 1024;
    this.packsPerIndex = options.packsPerIndex ?? 64;
    this.uploads = new Semaphore(options.uploads ?? 1);
    this.builders = { data: this.newBuilder('data'), tree: this.newBuilder('tree') };
  }

  private newBuilder(type: BlobType): PackBuilder {
    const backend = this.repo.backend;
    return new PackBuilder(type, backend.stage && (() => backend.stage!('pack')));
  }

  /** True when the blob is already stored or being stored. */
  has(type: BlobType, id: string): boolean {
    return this.repo.index.has(type, id) || this.pending.has(type + id);
  }

  /** Ids of the blobs of one type taken on in this session and not yet indexed or stored. */
  *pendingIds(type: BlobType): Generator<string> {
    for (const key of this.pending) if (key.startsWith(type)) yield key.slice(type.length);
  }

  /**
   * Stores a blob unless it is already known. Returns its id and whether it was new.
   * `data` must not be modified by the caller until the promise resolves.
   */
  async save(
    type: BlobType,
    data: Buffer,
    knownId?: string,
  ): Promise<{ id: string; added: boolean }> {
    if (data.length <= SYNC_SEAL) return this.sealHere(type, data, knownId);
    this.throwIfFailed();
    const id = knownId ?? sha256Hex(data);
    if (this.has(type, id)) return { id, added: false };
    this.markPending(type, id);
    const mode = this.repo.compression;
    // Larger than SYNC_SEAL, so past seal.ts's minimum: compressed unless that does not shrink it.
    let payload: Buffer = data;
    let uncompressed: number | undefined;
    if (mode !== 'off') {
      await this.compressions.acquire();
      try {
        const packed = await zstdCompress(data, mode);
        // restic design: blobs that do not shrink may be stored uncompressed.
        if (packed.length < data.length) {
          payload = packed;
          uncompressed = data.length;
        }
      } finally {
        this.compressions.release();
      }
    }
    return this.addSealed(type, id, data.length, {
      sealed: this.repo.key.encrypt(payload),
      uncompressed,
    });
  }

  /**
   * Like save(), but compresses and encrypts on this thread, at once, into a buffer reused
   * for every blob: `data` is no longer needed when the promise resolves, and no garbage is
   * left behind. For plaintext in a chunk worker's ring and for small blobs.
   */
  async sealHere(type: BlobType, data: Buffer, knownId?: string) {
    this.throwIfFailed();
    const id = knownId ?? sha256Hex(data);
    if (this.has(type, id)) return { id, added: false };
    this.markPending(type, id);
    const capacity = sealCapacity(data.length);
    if (this.scratch.length < capacity) this.scratch = Buffer.allocUnsafeSlow(capacity);
    const r = sealInto(this.repo.key, type, data, this.repo.compression, this.scratch);
    this.gcPacer.count(data.length);
    const sealed = this.scratch.subarray(0, r.length);
    return this.addSealed(type, id, data.length, { sealed, uncompressed: r.uncompressed });
  }

  /**
   * Stores a blob that was compressed and encrypted elsewhere (seal.ts) unless it is already
   * known; `length` is its plaintext length.
   */
  async saveSealed(
    type: BlobType,
    id: string,
    length: number,
    blob: SealedBlob,
  ): Promise<{ id: string; added: boolean }> {
    this.throwIfFailed();
    if (this.has(type, id)) return { id, added: false };
    this.markPending(type, id);
    return this.addSealed(type, id, length, blob);
  }

  private markPending(type: BlobType, id: string): void {
    this.pending.add(type + id);
    if (type === 'data') this.options.onPending?.(id);
  }

  private async addSealed(
    type: BlobType,
    id: string,
    length: number,
    blob: SealedBlob,
  ): Promise<{ id: string; added: boolean }> {
    const builder = this.builders[type];
    builder.add(id, blob.sealed, blob.uncompressed);
    this.stats.blobsAdded++;
    this.stats.bytesAdded += length;
    if (builder.size >= this.packSize) await this.finishPack(type);
    return { id, added: true };
  }

  /** Finishes open packs, waits for every upload and writes the remaining index entries. */
  async flush(): Promise<void> {
    await this.finishPack('data');
    await this.finishPack('tree');
    await Promise.all(this.inflight);
    this.throwIfFailed();
    await this.writeIndex();
  }

  /**
   * Drops the packs being filled (their staged files) when the job ends without flush():
   * nothing refers to them. Uploads already running finish on their own.
   */
  async discard(): Promise<void> {
    const open = [this.builders.data, this.builders.tree];
    this.builders = { data: this.newBuilder('data'), tree: this.newBuilder('tree') };
    await Promise.all(open.map((b) => b.discard()));
  }

  private async finishPack(type: BlobType): Promise<void> {
    const builder = this.builders[type];
    if (builder.count === 0) return;
    this.builders[type] = this.newBuilder(type);
    await this.uploads.acquire();
    this.throwIfFailed();
    const pack = builder.finish(this.repo.key);
    const upload = this.upload(pack).finally(() => {
      this.uploads.release();
      this.inflight.delete(upload);
    });
    this.inflight.add(upload);
  }

  private async upload({ id, data, size, blobs }: FinishedPack) {
    try {
      const signal = this.options.signal;
      await this.repo.backend.save({ type: 'pack', name: id }, data, signal ? { signal } : {});
      this.stats.bytesStored += size;
      this.stats.packsWritten++;
      this.repo.index.addPack(id, blobs);
      this.unindexed.push({ id, blobs });
      if (this.unindexed.length >= this.packsPerIndex) await this.writeIndex();
    } catch (err) {
      this.failure ??= err;
    }
  }

  private async writeIndex(): Promise<void> {
    if (this.unindexed.length === 0) return;
    const packs = this.unindexed;
    this.unindexed = [];
    const signal = this.options.signal;
    await this.repo.saveUnpacked('index', encodeIndex(packs), signal);
    this.stats.indexesWritten++;
  }

  private throwIfFailed(): void {
    if (this.failure !== undefined) throw asError(this.failure);
  }
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
