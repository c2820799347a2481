/**
 * One error type for the whole of Lifeboat, with a closed set of codes.
 * Errors are classified where they arise; callers branch on `code`, never on message text.
 * Exit codes and other mappings are exhaustive `Record<ErrorCode, …>` tables, so adding a
 * code breaks the build until every table handles it.
 */
export type ErrorCode =
  | 'INVALID_ARGUMENT' // bad command-line input or option
  | 'INVALID_PLAN' // lifeboat.yaml failed validation
  | 'NO_REPOSITORY' // the repository does not exist or has no config
  | 'REPOSITORY_EXISTS' // init over an existing repository
  | 'WRONG_PASSWORD' // no key file opens with the password
  | 'NO_PASSWORD' // no password source available
  | 'LOCKED' // a conflicting lock is held by someone else
  | 'NOT_FOUND' // a snapshot, blob, file or key that was asked for does not exist
  | 'INTEGRITY' // data failed a MAC, hash, length or structure check
  | 'UNSUPPORTED' // a repository version or feature we cannot handle
  | 'TARGET_NOT_EMPTY' // restore into a non-empty directory without --overwrite
  | 'UNSAFE_PATH' // a tree entry would write outside the restore target
  | 'PARTIAL' // the job finished but some inputs could not be read
  | 'CHECK_FAILED' // check found problems
  | 'IO' // an operating-system or backend I/O failure
  | 'TOOL_FAILED' // an external tool (pg_dump, mariadb-dump, redis-cli…) failed or is missing
  | 'UNREACHABLE' // a database server could not be reached or refused the login
  | 'TARGET_IN_USE' // a restore target is a running server
  | 'WAL_GAP' // the archived WAL does not reach the requested point
  | 'CANCELLED' // the operation was aborted (SIGINT, AbortSignal)
  | 'INTERNAL'; // a bug

export interface LifeboatErrorOptions {
  cause?: unknown;
  /** Whether repeating the same operation could succeed (network blips, lock contention). */
  retryable?: boolean;
  /** Structured facts for --json output and logs (never secrets). */
  details?: Record<string, unknown>;
}

export class LifeboatError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: ErrorCode, message: string, options: LifeboatErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'LifeboatError';
    this.code = code;
    this.retryable = options.retryable ?? false;
    this.details = options.details ?? {};
  }
}

export function isLifeboatError(err: unknown, code?: ErrorCode): err is LifeboatError {
  return err instanceof LifeboatError && (code === undefined || err.code === code);
}

/** Process exit codes, documented in docs/exit-codes.md; restic uses the same numbers. */
export const EXIT_CODES: Record<ErrorCode, number> = {
  INVALID_ARGUMENT: 1,
  INVALID_PLAN: 1,
  NO_REPOSITORY: 10,
  REPOSITORY_EXISTS: 1,
  WRONG_PASSWORD: 12,
  NO_PASSWORD: 1,
  LOCKED: 11,
  NOT_FOUND: 1,
  INTEGRITY: 1,
  UNSUPPORTED: 1,
  TARGET_NOT_EMPTY: 1,
  UNSAFE_PATH: 1,
  PARTIAL: 3,
  CHECK_FAILED: 1,
  IO: 1,
  TOOL_FAILED: 1,
  UNREACHABLE: 1,
  TARGET_IN_USE: 1,
  WAL_GAP: 1,
  CANCELLED: 130,
  INTERNAL: 1,
};

/** Converts anything thrown into a LifeboatError, keeping the original as the cause. */
export function toLifeboatError(err: unknown): LifeboatError {
  if (err instanceof LifeboatError) return err;
  if (err instanceof Error && err.name === 'AbortError') {
    return new LifeboatError('CANCELLED', 'operation cancelled', { cause: err });
  }
  const message = err instanceof Error ? err.message : String(err);
  return new LifeboatError('INTERNAL', message, { cause: err });
}
