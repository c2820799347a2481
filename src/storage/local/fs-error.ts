/**
 * Classifies Node file-system errors where they arise (STYLE.md #3): a missing file is
 * NOT_FOUND, everything else is IO naming the operation and the path. Transient conditions
 * (a busy file, too many open files, a stale NFS handle) are marked retryable so the retry
 * decorator may repeat them; a full disk or a permission problem is not.
 */
import { LifeboatError } from '../../core/errors.js';

const RETRYABLE = new Set(['EAGAIN', 'EBUSY', 'EINTR', 'EMFILE', 'ENFILE', 'ESTALE', 'ETIMEDOUT']);

export function errnoCode(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null || !('code' in err)) return undefined;
  return typeof err.code === 'string' ? err.code : undefined;
}

export function fsError(err: unknown, op: string, path: string): LifeboatError {
  if (err instanceof LifeboatError) return err;
  const code = errnoCode(err);
  if (code === 'ENOENT') {
    return new LifeboatError('NOT_FOUND', `${path} does not exist`, {
      cause: err,
      details: { path, op },
    });
  }
  if (code === 'ABORT_ERR') {
    return new LifeboatError('CANCELLED', `${op} ${path} cancelled`, { cause: err });
  }
  const reason = err instanceof Error ? err.message : String(err);
  return new LifeboatError('IO', `cannot ${op} ${path}: ${reason}`, {
    cause: err,
    retryable: code !== undefined && RETRYABLE.has(code),
    details: { path, op, ...(code === undefined ? {} : { errno: code }) },
  });
}
