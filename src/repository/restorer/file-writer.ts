/**
 * Hands small restored files to a writing thread (write-worker.ts) and resolves when each is
 * on disk with its metadata. The thread starts with the first file, so restores without small
 * files never pay for it. Errors come back as they would from the calls themselves: an errno
 * error (EEXIST when something is in the way) or the LifeboatError IO of a metadata step.
 */
import { Worker } from 'node:worker_threads';
import { LifeboatError } from '../../core/errors.js';
import type { FileMeta, WriteJob, WriteResult } from './write-protocol.js';

export class FileWriter {
  private worker: Worker | undefined;
  private readonly pending = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  private nextJob = 1;
  private fatal: Error | undefined;

  /** Writes `data` (detached: it must not be used afterwards) as a new file at `path`. */
  write(path: string, data: Buffer, meta: FileMeta, owner: boolean): Promise<void> {
    if (this.fatal) return Promise.reject(this.fatal);
    const worker = (this.worker ??= this.start());
    const job = this.nextJob++;
    // Transfer needs a whole ArrayBuffer of its own; a slice of a shared one is copied.
    const own =
      data.byteOffset === 0 && data.byteLength === data.buffer.byteLength
        ? (data.buffer as ArrayBuffer)
        : new Uint8Array(data).buffer;
    const m: WriteJob = {
      t: 'write',
      job,
      path,
      data: own,
      meta: { mode: meta.mode, uid: meta.uid, gid: meta.gid, atime: meta.atime, mtime: meta.mtime },
      owner,
    };
    return new Promise<void>((resolve, reject) => {
      this.pending.set(job, { resolve, reject });
      worker.postMessage(m, [own]);
    });
  }

  private start(): Worker {
    const w = new Worker(new URL('./write-worker.js', import.meta.url), {
      resourceLimits: { maxYoungGenerationSizeMb: 4, maxOldGenerationSizeMb: 64 },
    });
    w.on('message', (r: WriteResult) => this.onResult(r));
    w.on('error', (err) => this.fail(err));
    w.on('exit', (code) => {
      if (this.pending.size > 0)
        this.fail(new Error(`file writer exited with code ${String(code)}`));
    });
    return w;
  }

  private onResult(r: WriteResult): void {
    const p = this.pending.get(r.job);
    if (!p) return;
    this.pending.delete(r.job);
    if (r.t === 'done') {
      p.resolve();
    } else if (r.lifeboat) {
      p.reject(
        new LifeboatError(r.lifeboat.code, r.lifeboat.message, { details: r.lifeboat.details }),
      );
    } else {
      p.reject(Object.assign(new Error(r.message), { code: r.code }));
    }
  }

  private fail(err: Error): void {
    this.fatal ??= err;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }

  async close(): Promise<void> {
    const w = this.worker;
    this.worker = undefined;
    await w?.terminate();
  }
}
