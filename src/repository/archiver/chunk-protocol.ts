/** Messages between the archiver and its chunk workers (see chunk-worker.ts). */
import type { MasterKeyJSON } from '../crypto/master-key.js';
import type { RingSetup } from './chunk-ring.js';
import type { CompressionMode } from '../zstd.js';

/**
 * Both directions batch: a message costs tens of microseconds of CPU on each side here (a
 * thread wake-up), as much as reading and sealing a small file, so jobs go out and results
 * come back several to a message.
 */
export interface ToWorker {
  t: 'jobs';
  jobs: { job: number; path: string }[];
}

/** The file's outcome, carried by its last chunk (or by a 'done' message if it has none). */
export interface JobEnd {
  size: number;
  changed: boolean;
}

export type JobMessage =
  | {
      t: 'chunk';
      job: number;
      id: string;
      /** Plaintext length of the chunk. */
      length: number;
      /**
       * Where the record lies in the worker's ring: the plaintext or, when `sealed`, the
       * compressed and encrypted blob (seal.ts); `ringEnd` is its virtual end (chunk-ring.ts).
       */
      offset: number;
      size: number;
      ringEnd: number;
      sealed: boolean;
      uncompressed: number | undefined;
      /** Set on the file's last chunk. */
      end: JobEnd | undefined;
    }
  | ({ t: 'done'; job: number } & JobEnd)
  | { t: 'error'; job: number; code: string; syscall: string; message: string };

export type ToMain =
  | { t: 'batch'; items: JobMessage[] }
  /** The worker cannot go on (not a problem with one file). */
  | { t: 'fatal'; message: string };

/** What a worker needs to seal small new chunks itself. */
export interface SealSetup {
  key: MasterKeyJSON;
  compression: CompressionMode;
  /** KnownFilter's shared bits. */
  known: SharedArrayBuffer;
}

export interface ChunkWorkerData {
  polynomial: string;
  ring: RingSetup;
  seal: SealSetup | undefined;
}
