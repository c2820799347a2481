/**
 * Ports: the core never prints. Long work reports through Progress, diagnostics through
 * Logger. The CLI supplies renderers (TTY bars, NDJSON); tests supply recorders.
 */
export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

export const silentLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

/** A snapshot of the state of a long-running job; all counters are cumulative. */
export interface ProgressState {
  phase: string;
  filesDone: number;
  filesTotal?: number;
  bytesDone: number;
  bytesTotal?: number;
  /** The item being worked on now, for display only. */
  current?: string;
}

/**
 * Receives progress updates. Implementations must be cheap: update() may be called for every
 * chunk. It must not throw. `warn` reports a non-fatal problem with one item (a file that
 * vanished, could not be read…), which the job records and carries on from.
 */
export interface Progress {
  update(state: ProgressState): void;
  warn(item: string, message: string): void;
  /**
   * False when nothing shows progress, so work done only for it (a backup's walk that counts
   * the files and bytes ahead) can be skipped. Absent means true.
   */
  readonly shown?: boolean;
}

export const silentProgress: Progress = {
  update: () => undefined,
  warn: () => undefined,
  shown: false,
};
