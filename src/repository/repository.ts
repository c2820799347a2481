/**
 * An open repository: backend + master key + config + (once loaded) the master index.
 * Reading helpers live here; writing blobs goes through BlobWriter, which packs them.
 */
import { isLifeboatError, LifeboatError } from '../core/errors.js';
import type { Backend, FileType } from '../storage/backend.js';
import { isNotFound } from '../storage/backend.js';
import type { BlobLocation, BlobType } from './blob.js';
import type { RepoConfig } from './config.js';
import type { MasterKey } from './crypto/master-key.js';
import { sha256Hex } from './ids.js';
import { decodeIndex } from './index/index-file.js';
import { MasterIndex } from './index/master-index.js';
import { decodeUnpacked, encodeUnpacked } from './unpacked.js';
import type { CompressionMode } from './zstd.js';
import { openBlob } from './open-blob.js';

import { mapLimit } from '../core/concurrency.js';

export type UnpackedType = Extract<FileType, 'index' | 'snapshot' | 'lock'>;

export interface RepositoryOptions {
  compression?: CompressionMode;
}

export class Repository {
  readonly index = new MasterIndex();
  /** Key file that opened the repository (key remove refuses to delete it). */
  readonly keyId: string;
  private indexLoaded = false;
  readonly compression: CompressionMode;

  constructor(
    readonly backend: Backend,
    readonly key: MasterKey,
    readonly config: RepoConfig,
    keyId: string,
    options: RepositoryOptions = {},
  ) {
    this.keyId = keyId;
    // restic design: v1 repositories cannot hold compressed blobs.
    this.compression = config.version === 1 ? 'off' : (options.compression ?? 'auto');
  }

  async loadUnpacked(type: UnpackedType, id: string, signal?: AbortSignal): Promise<unknown> {
    const data = await this.backend.load({ type, name: id }, undefined, signal);
    // restic design: unpacked files are named by the hash of their content.
    if (sha256Hex(data) !== id) {
      throw new LifeboatError('INTEGRITY', `${type} ${id}: content does not match its name`, {
        details: { type, id },
      });
    }
    return decodeUnpacked(this.key, data, `${type} ${id}`);
  }

  async saveUnpacked(type: UnpackedType, json: unknown, signal?: AbortSignal): Promise<string> {
    const data = encodeUnpacked(this.key, json, this.config.version);
    const id = sha256Hex(data);
    await this.backend.save({ type, name: id }, data, signal ? { signal } : {});
    return id;
  }

  async *list(type: FileType, signal?: AbortSignal): AsyncGenerator<string> {
    for await (const f of this.backend.list(type, signal)) yield f.name;
  }

  /**
   * Index files that could not be read by loadIndex. They are skipped rather than fatal: a
   * restore of snapshots whose blobs are indexed elsewhere still works, and a backup only
   * stores again what it cannot find. Commands report these; check reports them as errors.
   */
  readonly indexErrors: { id: string; message: string }[] = [];

  /**
   * Loads every index file once; callers that ask while it is loading share that load, so a
   * command can start it early and go on with work that does not need it.
   */
  loadIndex(signal?: AbortSignal): Promise<void> {
    if (this.indexLoaded) return Promise.resolve();
    if (!this.indexLoading) {
      const loading = this.readIndexFiles(signal).then(() => {
        this.indexLoaded = true;
      });
      this.indexLoading = loading;
      // A failed load may be retried by a later call.
      loading.catch(() => {
        if (this.indexLoading === loading) this.indexLoading = undefined;
      });
    }
    return this.indexLoading;
  }

  private indexLoading: Promise<void> | undefined;

  private async readIndexFiles(signal?: AbortSignal): Promise<void> {
    const ids: string[] = [];
    for await (const id of this.list('index', signal)) ids.push(id);
    await mapLimit(ids, 4, async (id) => {
      let packs;
      try {
        packs = decodeIndex(await this.loadUnpacked('index', id, signal), id);
      } catch (err) {
        if (!isLifeboatError(err, 'INTEGRITY')) throw err;
        this.indexErrors.push({ id, message: err.message });
        return;
      }
      for (const p of packs) this.index.addPack(p.id, p.blobs);
    });
  }

  /** Loads, verifies and decompresses one blob; the result is checked against its id. */
  async loadBlob(type: BlobType, id: string, signal?: AbortSignal): Promise<Buffer> {
    return this.loadBlobAt(this.locate(type, id), signal);
  }

  async loadBlobAt(loc: BlobLocation, signal?: AbortSignal): Promise<Buffer> {
    const raw = await this.loadPackRange(loc, loc.offset, loc.length, signal);
    return openBlob(this.key, loc, raw, true); // raw was read for this call alone
  }

  /**
   * Reads bytes [offset, offset + length) of the pack holding `loc` (which names the blob in
   * errors): a missing pack is damage (INTEGRITY), other failures pass through.
   */
  async loadPackRange(
    loc: BlobLocation,
    offset: number,
    length: number,
    signal?: AbortSignal,
  ): Promise<Buffer> {
    try {
      return await this.backend.load(
        { type: 'pack', name: loc.packId },
        { offset, length },
        signal,
      );
    } catch (err) {
      if (isNotFound(err)) {
        throw new LifeboatError(
          'INTEGRITY',
          `pack ${loc.packId} holding ${loc.type} blob ${loc.id} is missing`,
          { cause: err, details: { packId: loc.packId, blobId: loc.id } },
        );
      }
      throw err;
    }
  }

  /** The index entry of a blob; NOT_FOUND when no index lists it. */
  locate(type: BlobType, id: string): BlobLocation {
    const loc = this.index.lookup(type, id);
    if (!loc) {
      throw new LifeboatError('NOT_FOUND', `${type} blob ${id} is not in the index`, {
        details: { blobId: id },
      });
    }
    return loc;
  }

  /** Decrypts, decompresses and verifies an encrypted blob read from its pack. */
  async openBlob(loc: BlobLocation, raw: Uint8Array): Promise<Buffer> {
    return openBlob(this.key, loc, raw);
  }
}
