/**
 * The local backend's staged files (backend.ts, StagedFile): a temp file in the type's
 * directory (`data/.tmp-staged-<random>` for packs, beside the shard directories, where
 * neither Lifeboat's nor restic's listing looks) that grows by synchronous writes, is fsync'd
 * and linked under its final name by the backend's save(). A crash leaves at most the temp
 * file, which cleanupTempFiles removes a day later.
 *
 * Writes are synchronous: they land in the page cache at memory speed, and the caller (the
 * blob writer, on the main thread) must be done with the bytes when write() returns (they may
 * be a chunk worker's ring, reused right after). The fsync at save() is asynchronous.
 */
import { closeSync, fsync, mkdirSync, openSync, unlink, writeSync } from 'node:fs';
import { promisify } from 'node:util';
import { stagedFileBrand, type StagedFile } from '../backend.js';
import { errnoCode, fsError } from './fs-error.js';

const fsyncAsync = promisify(fsync);
const unlinkAsync = promisify(unlink);

export class LocalStagedFile implements StagedFile {
  readonly [stagedFileBrand] = true as const;
  private fd: number | undefined;
  private written = 0;
  private finished = false;

  /** Creates `path` (exclusively); `dir` is created first when missing. */
  constructor(
    readonly owner: object,
    readonly path: string,
    dir: string,
    dirMode: number,
  ) {
    try {
      this.fd = openSync(path, 'wx', 0o600);
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw fsError(err, 'create', path);
      try {
        mkdirSync(dir, { recursive: true, mode: dirMode });
        this.fd = openSync(path, 'wx', 0o600);
      } catch (e) {
        throw fsError(e, 'create', path);
      }
    }
  }

  get size(): number {
    return this.written;
  }

  write(data: Uint8Array): void {
    const fd = this.openFd();
    try {
      for (let done = 0; done < data.length;) {
        done += writeSync(fd, data, done, data.length - done, this.written + done);
      }
    } catch (err) {
      throw fsError(err, 'write', this.path);
    }
    this.written += data.length;
  }

  /** Makes the bytes durable and closes the file; the backend then links it into place. */
  async finish(): Promise<void> {
    const fd = this.openFd();
    this.finished = true;
    try {
      await fsyncAsync(fd);
    } catch (err) {
      throw fsError(err, 'write', this.path);
    } finally {
      this.fd = undefined;
      closeSync(fd);
    }
  }

  async discard(): Promise<void> {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    this.finished = true;
    await unlinkAsync(this.path).catch(() => undefined);
  }

  private openFd(): number {
    if (this.fd === undefined || this.finished) {
      throw fsError(new Error('staged file already saved or discarded'), 'write', this.path);
    }
    return this.fd;
  }
}
