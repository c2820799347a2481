/**
 * Range checks for Backend.load(), shared by every backend so that they all agree: a range
 * that reaches past the end of the file is an INTEGRITY error ("short read"), never a
 * silently shorter buffer (see backend.ts).
 */
import { LifeboatError } from '../core/errors.js';
import type { LoadRange } from './backend.js';

export interface CheckedRange {
  offset: number;
  /** undefined means "to the end of the file". */
  length: number | undefined;
}

/** Validates the shape of a range; INVALID_ARGUMENT for negative or fractional numbers. */
export function checkRange(range: LoadRange | undefined, what: string): CheckedRange {
  const offset = range?.offset ?? 0;
  const length = range?.length;
  if (!Number.isSafeInteger(offset) || offset < 0) {
    throw new LifeboatError('INVALID_ARGUMENT', `invalid offset ${offset} for ${what}`);
  }
  if (length !== undefined && (!Number.isSafeInteger(length) || length < 0)) {
    throw new LifeboatError('INVALID_ARGUMENT', `invalid length ${length} for ${what}`);
  }
  return { offset, length: length === 0 ? undefined : length };
}

/** Resolves a checked range against a known file size, or throws the short-read error. */
export function resolveRange(
  range: CheckedRange,
  size: number,
  what: string,
): { offset: number; length: number } {
  if (range.offset > size) throw shortRead(what, range.offset, range.length ?? 0, 0);
  const length = range.length ?? size - range.offset;
  if (range.offset + length > size)
    throw shortRead(what, range.offset, length, size - range.offset);
  return { offset: range.offset, length };
}

export function shortRead(
  what: string,
  offset: number,
  wanted: number,
  got: number,
): LifeboatError {
  return new LifeboatError(
    'INTEGRITY',
    `short read of ${what}: wanted bytes ${offset}..${offset + wanted} (${wanted} bytes), got ${got}`,
    { details: { file: what, offset, wanted, got } },
  );
}
