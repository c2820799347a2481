/**
 * Hands batches of small restored files to writing threads (write-worker.ts), which open their
 * blobs and write them; each file's promise resolves with its size once it is on disk with its
 * metadata. Threads start on demand, up to `threads`: a restore without small files never pays
 * for one. Errors come back as they would from the calls themselves: an errno error (EEXIST
 * when something is in the way), or a LifeboatError (INTEGRITY for a damaged blob, IO for a
 * metadata step).
 */
import { Worker } from 'node:worker_threads';
import { LifeboatError } from '../../core/errors.js';
import { ownArrayBuffer } from '../../core/transfer.js';
import type { BlobLocation } from '../blob.js';
import type { MasterKey } from '../crypto/master-key.js';
import type { FileMeta, WriteBatch, WriteFile, WriteResult, WriterData } from './write-protocol.js';

export interface SmallFile {
  path: string;
  meta: FileMeta;
  owner: boolean;
  /** The file's one blob, at `at` in the batch's raw bytes; absent for an empty file. */
  blob?: { loc: BlobLocation; at: number };
}

interface WriterThread {
  worker: Worker;
  batches: number;
}

interface Pending {
  resolve: (size: number) => void;
  reject: (e: Error) => void;
}

export class FileWriter {
  private readonly threads: WriterThread[] = [];
  private readonly pending = new Map<number, Pending>();
  private nextJob = 1;
  private fatal: Error | undefined;

  constructor(
    private readonly key: MasterKey,
    private readonly maxThreads = 2,
  ) {}

  /** Threads started so far. */
  get started(): number {
    return this.threads.length;
  }

  /**
   * Writes the files of one batch; `raw` (detached: it must not be used afterwards) holds the
   * encrypted blobs. One promise per file, in order, each with the bytes written.
   */
  writeBatch(raw: Buffer | undefined, files: readonly SmallFile[]): Promise<number>[] {
    if (this.fatal) {
      const err = this.fatal;
      return files.map(() => Promise.reject(err));
    }
    const thread = this.pick();
    const own = raw === undefined ? undefined : ownArrayBuffer(raw);
    const jobs: WriteFile[] = [];
    const promises = files.map((f) => {
      const job = this.nextJob++;
      const m = f.meta;
      jobs.push({
        job,
        path: f.path,
        meta: { mode: m.mode, uid: m.uid, gid: m.gid, atime: m.atime, mtime: m.mtime },
        owner: f.owner,
        ...(f.blob ? { blob: f.blob } : {}),
      });
      return new Promise<number>((resolve, reject) => this.pending.set(job, { resolve, reject }));
    });
    thread.batches++;
    const batch: WriteBatch = { raw: own, files: jobs };
    thread.worker.postMessage(batch, own ? [own] : []);
    return promises;
  }

  private pick(): WriterThread {
    const idle = this.threads.find((t) => t.batches === 0);
    if (idle) return idle;
    if (this.threads.length < this.maxThreads) return this.start();
    return this.threads.reduce((a, b) => (b.batches < a.batches ? b : a));
  }

  private start(): WriterThread {
    const workerData: WriterData = { key: this.key.toJSON() };
    const w = new Worker(new URL('./write-worker.js', import.meta.url), {
      workerData,
      resourceLimits: { maxYoungGenerationSizeMb: 4, maxOldGenerationSizeMb: 64 },
    });
    const thread: WriterThread = { worker: w, batches: 0 };
    w.on('message', (results: WriteResult[]) => {
      thread.batches--;
      for (const r of results) this.onResult(r);
    });
    w.on('error', (err) => this.fail(err));
    w.on('exit', (code) => {
      if (this.pending.size > 0)
        this.fail(new Error(`file writer exited with code ${String(code)}`));
    });
    this.threads.push(thread);
    return thread;
  }

  private onResult(r: WriteResult): void {
    const p = this.pending.get(r.job);
    if (!p) return;
    this.pending.delete(r.job);
    if (r.t === 'done') {
      p.resolve(r.size);
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
    const threads = this.threads.splice(0);
    await Promise.all(threads.map((t) => t.worker.terminate()));
  }
}
