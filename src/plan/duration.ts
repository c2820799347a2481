import { LifeboatError } from '../core/errors.js';

/**
 * Durations in the plan (`rto: 15m`, later `within: 30d`) are a whole number and one unit.
 * One unit only, so that "1h30m" is written "90m": the value is then easy to read, compare
 * and round-trip, and there is no question of how mixed units combine.
 */
const UNIT_MS = {
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000, // a fixed 24 hours, not a calendar day: targets do not move with DST
  w: 604_800_000,
} as const;

type Unit = keyof typeof UNIT_MS;

/** The accepted spelling; a leading zero is junk ("015m"), zero itself is not ("0s"). */
const DURATION_PATTERN = /^(0|[1-9][0-9]*)([smhdw])$/;

export const DURATION_HINT =
  'a whole number and one unit of s, m, h, d or w, like 30s, 15m, 4h, 1d';

/** Parses "15m" into milliseconds, or returns undefined when the text is not a duration. */
export function tryParseDuration(text: string): number | undefined {
  const match = DURATION_PATTERN.exec(text);
  if (match === null) return undefined;
  const ms = Number(match[1]) * UNIT_MS[match[2] as Unit];
  // Past 2^53 the number of milliseconds is no longer exact; nobody means such a duration.
  return Number.isSafeInteger(ms) ? ms : undefined;
}

/** Parses "15m" into milliseconds; throws INVALID_ARGUMENT naming the text otherwise. */
export function parseDuration(text: string): number {
  const ms = tryParseDuration(text);
  if (ms === undefined) {
    throw new LifeboatError(
      'INVALID_ARGUMENT',
      `invalid duration ${JSON.stringify(text)}: use ${DURATION_HINT}`,
      { details: { value: text } },
    );
  }
  return ms;
}
