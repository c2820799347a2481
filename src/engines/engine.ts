/**
 * The engine contract. An engine turns a database (or other source) into named byte streams
 * for backup and turns those streams back into a running copy on restore. Engines never see
 * the repository (ARCHITECTURE.md: engines produce, recovery stores); the recovery layer
 * stores each part as one file of a snapshot and hands the bytes back on restore.
 */

/** One stream of a backup, stored as the file `name` in the snapshot's root. */
export interface BackupPart {
  /** A plain file name (no "/"), unique within one backup, stable across runs so parts dedupe. */
  readonly name: string;
  /**
   * Starts the producing tool and yields its output. The iteration completes normally only if
   * the tool exited successfully; a tool that fails, is killed or loses its server makes the
   * iteration throw (TOOL_FAILED / UNREACHABLE), so no snapshot is recorded as a good backup.
   * Stopping the iteration early (break, throw in the consumer, `signal`) kills the tool.
   * Call at most once.
   */
  open(signal?: AbortSignal): AsyncIterable<Uint8Array>;
}

/** The producing side of an engine for one configured source. */
export interface DumpSource {
  /** Source kind for snapshot tags: "postgres", "mariadb", "redis", "mongodb". */
  readonly kind: string;
  /**
   * Connects, checks that the source is reachable (throws UNREACHABLE otherwise, before any
   * part is produced) and lists the parts of one backup in restore order. Nothing is dumped
   * until a part is opened.
   */
  listParts(signal?: AbortSignal): Promise<BackupPart[]>;
}

/** Yields the bytes of one stored part, in order. Throws NOT_FOUND for an unknown name. */
export type PartReader = (name: string, signal?: AbortSignal) => AsyncIterable<Uint8Array>;

export interface RestoreOutcome {
  /** Parts consumed, in the order they were restored. */
  readonly parts: readonly string[];
  /** Human-readable facts worth printing (e.g. "started redis-server on 127.0.0.1:6400"). */
  readonly notes: readonly string[];
}

/** The consuming side of an engine: one restore target (a server, or a data directory). */
export interface RestoreTarget {
  readonly kind: string;
  /**
   * Restores the given parts (names as stored; the order given is the order produced) into the
   * target. Refuses (TARGET_NOT_EMPTY / TARGET_IN_USE) before changing anything when the target
   * already holds data and `force` was not set by the caller that created the target.
   */
  restore(
    parts: readonly string[],
    read: PartReader,
    signal?: AbortSignal,
  ): Promise<RestoreOutcome>;
}
