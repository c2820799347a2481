/** Messages between the archiver and its chunk workers (see chunk-worker.ts). */
export type ToWorker = { t: 'job'; job: number; path: string } | { t: 'ack'; n: number };

export type ToMain =
  | { t: 'chunk'; job: number; id: string; data: ArrayBuffer }
  | { t: 'done'; job: number; size: number; changed: boolean }
  | { t: 'error'; job: number; code: string; syscall: string; message: string };
