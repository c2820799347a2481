/**
 * Storage-specific error classification beyond backend.ts's isNotFound. "Already exists" is
 * an IO error (backend.ts) marked by `details.exists`, so callers such as the retry
 * decorator can recognise it without reading the message.
 */
import { LifeboatError, isLifeboatError } from '../core/errors.js';

export function alreadyExistsError(what: string): LifeboatError {
  return new LifeboatError('IO', `${what} already exists (repository files are write-once)`, {
    details: { path: what, exists: true },
  });
}

export function isAlreadyExists(err: unknown): boolean {
  return isLifeboatError(err, 'IO') && err.details.exists === true;
}
