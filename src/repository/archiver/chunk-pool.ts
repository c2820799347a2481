/**
 * A pool of chunk workers. chunkFile() returns the chunks of one file, in order, each with
 * its SHA-256 id, produced on another thread; most new chunks come already sealed
 * (compressed and encrypted, see chunk-worker.ts) when the pool was given the key. Jobs go to
 * the worker with the fewest queued. Each worker has a ring in shared memory (chunk-ring.ts)
 * that holds the chunks the main thread has not stored yet; a chunk's `release()` frees its
 * place.
 */
import { Worker } from 'node:worker_threads';
import { MAX_CHUNK } from '../chunker/chunker.js';
import { formatPolynomial } from '../chunker/polynomial.js';
import type { MasterKey } from '../crypto/master-key.js';
import type { CompressionMode } from '../zstd.js';
import { sealCapacity } from '../pack/seal.js';
import type { ChunkWorkerData, JobMessage, ToMain, ToWorker } from './chunk-protocol.js';
import { createRing, RingReader } from './chunk-ring.js';
import type { KnownFilter } from './known-filter.js';

export interface HashedChunk {
  id: string;
  /** Plaintext length. */
  length: number;
  /**
   * The plaintext, or, when `sealed`, the blob as a pack stores it: a view into the worker's
   * ring, valid until release() is called.
   */
  data: Buffer;
  /** Frees the chunk's place in the ring; call it once `data` is no longer needed. */
  release: () => void;
  sealed: boolean;
  /** For a sealed blob: its plaintext length if compressed, else undefined. */
  uncompressed: number | undefined;
}

/** Lets the workers seal small new chunks; `known` is called once, when the first one starts. */
export interface PoolSealing {
  key: MasterKey;
  compression: CompressionMode;
  known: () => KnownFilter;
}

/** An error from reading the file, with the errno code as Node reports it. */
export class ChunkReadError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly syscall: string,
  ) {
    super(message);
  }
}

interface JobState {
  items: Taken[];
  notify: (() => void) | undefined;
  worker: PoolWorker;
}

/** An item of a job; a chunk's bytes already registered with the ring reader. */
interface Taken {
  m: JobMessage;
  chunk?: { bytes: Buffer; release: () => void };
}

interface PoolWorker {
  worker: Worker;
  ring: RingReader;
  queued: number;
  /** Jobs not yet posted: they go out together once this turn of the event loop ends. */
  outbox: { job: number; path: string }[];
}

/**
 * Each worker's ring: room for the largest sealed chunk and a few more, so the reader goes on
 * while the main thread stores what came before.
 */
const RING_BYTES = Math.max(12 * 1024 * 1024, sealCapacity(MAX_CHUNK));

/** Jobs queued on every running worker before another one starts. */
const SPAWN_BACKLOG = 4;

/**
 * Bytes handed to the pool before a second worker may start: a re-backup that reads a few
 * changed files is done by one worker, ~20-30 MiB of resident memory (isolate, read buffer,
 * ring) less than with two. bench/'s 1% steps re-read 5, 7 and 41 MiB (one changed file of
 * 37 MiB); at 32 MiB the third started a second worker (bench: 130-138 MiB against 107-117
 * for the other two). That step by hand, three times each: 134-136 MiB and 1.16-1.35 s at
 * 32 MiB, 125-126 MiB and 1.12-1.17 s at 64.
 */
const SPAWN_BYTES = 64 * 1024 * 1024;

export class ChunkPool {
  private readonly workers: PoolWorker[] = [];
  private readonly jobs = new Map<number, JobState>();
  private nextJob = 1;
  /** Bytes of the files handed out so far (their sizes when the job was made). */
  private assignedBytes = 0;
  private fatal: Error | undefined;
  private seal: ChunkWorkerData['seal'] | undefined;

  /**
   * Workers start on demand: the first job starts one, and another starts only while every
   * running worker has SPAWN_BACKLOG jobs queued. A stream backup (one file, or streams chunked on this
   * thread) thus pays for one worker or none: each costs start-up CPU and ~20 MiB resident.
   */
  constructor(
    private readonly polynomial: bigint,
    private readonly size: number,
    private readonly sealing?: PoolSealing,
  ) {}

  /** Workers started so far. */
  get started(): number {
    return this.workers.length;
  }

  private pickWorker(): PoolWorker {
    const idle = this.workers.find((w) => w.queued === 0);
    if (idle) return idle;
    if (this.workers.length === 0) return this.spawn();
    const least = this.workers.reduce((a, b) => (b.queued < a.queued ? b : a));
    // A worker costs ~130 ms of CPU to start (modules, native bindings): a re-backup that
    // reads a file here and there would pay more for a second one than it gains.
    if (
      this.workers.length < this.size &&
      least.queued >= SPAWN_BACKLOG &&
      this.assignedBytes >= SPAWN_BYTES
    ) {
      return this.spawn();
    }
    return least;
  }

  private spawn(): PoolWorker {
    const s = this.sealing;
    this.seal ??= s && { key: s.key.toJSON(), compression: s.compression, known: s.known().buffer };
    const ring = createRing(RING_BYTES);
    const workerData: ChunkWorkerData = {
      polynomial: formatPolynomial(this.polynomial),
      ring,
      seal: this.seal,
    };
    const pw: PoolWorker = {
      ring: new RingReader(ring),
      worker: new Worker(new URL('./chunk-worker.js', import.meta.url), {
        workerData,
        // The worker keeps little on its heap (chunks go through the ring); a small young
        // generation keeps each worker's resident memory small.
        resourceLimits: { maxYoungGenerationSizeMb: 4, maxOldGenerationSizeMb: 64 },
      }),
      queued: 0,
      outbox: [],
    };
    pw.worker.on('message', (m: ToMain) => this.onMessage(pw, m));
    pw.worker.on('error', (err) => this.onFatal(err));
    this.workers.push(pw);
    return pw;
  }

  /**
   * Chunks one file; when the worker is done, `outcome.changed` tells whether the file was
   * modified while it was read (or is not a regular file or read short).
   */
  async *chunkFile(
    path: string,
    outcome: { changed?: boolean } = {},
    expectedBytes?: number,
  ): AsyncGenerator<HashedChunk, number> {
    if (this.fatal) throw this.fatal;
    // A stream (unknown size) counts as large.
    this.assignedBytes += expectedBytes ?? SPAWN_BYTES;
    const pw = this.pickWorker();
    const job = this.nextJob++;
    const state: JobState = { items: [], notify: undefined, worker: pw };
    this.jobs.set(job, state);
    pw.queued++;
    if (pw.outbox.push({ job, path }) === 1) {
      setImmediate(() => {
        pw.worker.postMessage({ t: 'jobs', jobs: pw.outbox } satisfies ToWorker);
        pw.outbox = [];
      });
    }
    try {
      while (true) {
        while (state.items.length === 0) {
          // A method call, not a property read: TypeScript keeps the narrowing from the check
          // above across the await, but a worker may have died meanwhile.
          const fatal = this.failure();
          if (fatal) throw fatal;
          await new Promise<void>((r) => (state.notify = r));
        }
        const { m, chunk } = state.items.shift()!;
        if (m.t === 'done') {
          outcome.changed = m.changed;
          return m.size;
        }
        if (m.t === 'error') throw new ChunkReadError(m.message, m.code, m.syscall);
        yield {
          id: m.id,
          length: m.length,
          data: chunk!.bytes,
          release: chunk!.release,
          sealed: m.sealed,
          uncompressed: m.uncompressed,
        };
        if (m.end) {
          outcome.changed = m.end.changed;
          return m.end.size;
        }
      }
    } finally {
      pw.queued--;
      // The consumer stopped early (error, abort) or returned: free what it left unread, and
      // whatever the worker still sends for this job, so the worker never waits for it.
      for (const i of state.items) i.chunk?.release();
      state.items = [];
      if (this.jobs.get(job) === state) {
        this.jobs.delete(job);
        this.abandoned.add(job);
      }
    }
  }

  private readonly abandoned = new Set<number>();

  private onMessage(pw: PoolWorker, m: ToMain): void {
    if (m.t === 'fatal') {
      this.onFatal(new Error(m.message));
      return;
    }
    for (const item of m.items) this.onItem(pw, item);
  }

  private onItem(pw: PoolWorker, m: JobMessage): void {
    const ends = m.t !== 'chunk' || m.end !== undefined;
    // Registered in arrival order, which is the order the worker wrote them into its ring.
    const chunk = m.t === 'chunk' ? pw.ring.take(m.offset, m.size, m.ringEnd) : undefined;
    const state = this.jobs.get(m.job);
    if (!state) {
      chunk?.release();
      if (ends) this.abandoned.delete(m.job);
      return;
    }
    state.items.push(chunk ? { m, chunk } : { m });
    if (ends) this.jobs.delete(m.job);
    const n = state.notify;
    state.notify = undefined;
    n?.();
  }

  private failure(): Error | undefined {
    return this.fatal;
  }

  private onFatal(err: Error): void {
    this.fatal = err;
    for (const s of this.jobs.values()) s.notify?.();
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.worker.terminate()));
  }
}
