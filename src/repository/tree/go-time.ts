/**
 * Timestamps as Go's time.Time marshals them to JSON (layout RFC3339Nano), which is how
 * restic writes a node's mtime, atime and ctime. restic builds them with time.Unix, so they
 * carry the machine's local zone (Go's time.Local, from TZ or /etc/localtime), and they must
 * be formatted the same way here for tree blobs to dedupe with restic's.
 */
import { LifeboatError } from '../../core/errors.js';

const NS_PER_SEC = 1_000_000_000n;
const SECONDS_PER_DAY = 86_400;
// JS Dates reach ±8.64e15 ms; beyond that the zone offset is taken at the nearest end.
const MAX_DATE_SECONDS = 8_640_000_000_000;

/** The local zone's offset from UTC in whole seconds at the given instant. */
function localOffsetSeconds(sec: bigint): number {
  let s = Number(sec);
  if (s > MAX_DATE_SECONDS) s = MAX_DATE_SECONDS;
  if (s < -MAX_DATE_SECONDS) s = -MAX_DATE_SECONDS;
  return Math.round(-new Date(s * 1000).getTimezoneOffset() * 60);
}

function pad(n: number | bigint, width: number): string {
  return String(n).padStart(width, '0');
}

function isLeap(y: bigint): boolean {
  return (y % 4n === 0n && y % 100n !== 0n) || y % 400n === 0n;
}

/** Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's civil_from_days). */
function civilFromDays(days: bigint): { y: bigint; m: number; d: number } {
  const z = days + 719_468n;
  const era = (z >= 0n ? z : z - 146_096n) / 146_097n;
  const doe = z - era * 146_097n;
  const yoe = (doe - doe / 1460n + doe / 36_524n - doe / 146_096n) / 365n;
  const doy = doe - (365n * yoe + yoe / 4n - yoe / 100n);
  const mp = (5n * doy + 2n) / 153n;
  const d = Number(doy - (153n * mp + 2n) / 5n + 1n);
  const m = Number(mp < 10n ? mp + 3n : mp - 9n);
  const y = yoe + era * 400n + (m <= 2 ? 1n : 0n);
  return { y, m, d };
}

function daysFromCivil(y: bigint, m: number, d: number): bigint {
  const yy = m <= 2 ? y - 1n : y;
  const era = (yy >= 0n ? yy : yy - 399n) / 400n;
  const yoe = yy - era * 400n;
  const mm = BigInt(m > 2 ? m - 3 : m + 9);
  const doy = (153n * mm + 2n) / 5n + BigInt(d) - 1n;
  const doe = yoe * 365n + yoe / 4n - yoe / 100n + doy;
  return era * 146_097n + doe - 719_468n;
}

/**
 * Formats Unix seconds + nanoseconds like Go's time.Time.MarshalJSON in the local zone:
 * `2006-01-02T15:04:05.999999999Z07:00`, fraction trimmed of trailing zeros and left out when
 * zero, `Z` for a zero offset, offset seconds dropped. Years outside 0..9999 are moved into
 * range the way restic's FixTime does before marshalling.
 */
export function formatGoTime(sec: bigint, nsec: bigint): string {
  // Normalise like time.Unix: any nsec, result with 0 <= nsec < 1e9.
  let s = sec + nsec / NS_PER_SEC;
  let ns = nsec % NS_PER_SEC;
  if (ns < 0n) {
    ns += NS_PER_SEC;
    s -= 1n;
  }
  const offset = localOffsetSeconds(s);
  const local = s + BigInt(offset);
  let days = local / BigInt(SECONDS_PER_DAY);
  let rem = local % BigInt(SECONDS_PER_DAY);
  if (rem < 0n) {
    rem += BigInt(SECONDS_PER_DAY);
    days -= 1n;
  }
  let { y, m, d } = civilFromDays(days);
  // restic's FixTime: AddDate by whole years, which turns Feb 29 into Mar 1 in a common year.
  if (y < 0n || y > 9999n) {
    y = y < 0n ? 0n : 9999n;
    if (m === 2 && d === 29 && !isLeap(y)) {
      m = 3;
      d = 1;
    }
  }
  const secOfDay = Number(rem);
  let out =
    `${pad(y, 4)}-${pad(m, 2)}-${pad(d, 2)}T` +
    `${pad(Math.floor(secOfDay / 3600), 2)}:${pad(Math.floor(secOfDay / 60) % 60, 2)}:` +
    pad(secOfDay % 60, 2);
  if (ns !== 0n) out += '.' + pad(ns, 9).replace(/0+$/, '');
  if (offset === 0) return out + 'Z';
  const zone = Math.trunc(offset / 60);
  const abs = Math.abs(zone);
  return out + (zone < 0 ? '-' : '+') + pad(Math.floor(abs / 60), 2) + ':' + pad(abs % 60, 2);
}

const TIME_RE =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:Z|([+-])(\d{2}):(\d{2}))$/;

function daysInMonth(y: bigint, m: number): number {
  if (m === 2) return isLeap(y) ? 29 : 28;
  return [4, 6, 9, 11].includes(m) ? 30 : 31;
}

/**
 * Parses an RFC 3339 timestamp as Go's time.Time.UnmarshalJSON accepts it and returns the
 * instant as Unix seconds and nanoseconds (0 <= nsec < 1e9). Fraction digits past the ninth
 * are dropped, as Go does. Throws LifeboatError INTEGRITY for anything else.
 */
export function parseGoTime(s: string): { sec: bigint; nsec: bigint } {
  const m = TIME_RE.exec(s);
  const bad = (): LifeboatError =>
    new LifeboatError('INTEGRITY', `invalid timestamp ${JSON.stringify(s)}`);
  if (m === null) throw bad();
  const [, ys, mos, ds, hs, mis, ss, frac, sign, ohs, oms] = m;
  const y = BigInt(ys!);
  const mo = Number(mos);
  const d = Number(ds);
  const h = Number(hs);
  const mi = Number(mis);
  const se = Number(ss);
  if (mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo) || h > 23 || mi > 59 || se > 59) {
    throw bad();
  }
  let offset = 0;
  if (sign !== undefined) {
    const oh = Number(ohs);
    const om = Number(oms);
    if (oh > 23 || om > 59) throw bad();
    offset = (sign === '-' ? -1 : 1) * (oh * 3600 + om * 60);
  }
  const nsec = frac === undefined ? 0n : BigInt(frac.slice(0, 9).padEnd(9, '0'));
  const sec =
    daysFromCivil(y, mo, d) * BigInt(SECONDS_PER_DAY) +
    BigInt(h * 3600 + mi * 60 + se) -
    BigInt(offset);
  return { sec, nsec };
}

/** Unix nanoseconds (as from fs.lstat with bigint) to formatGoTime's arguments. */
export function splitNanoseconds(ns: bigint): { sec: bigint; nsec: bigint } {
  let sec = ns / NS_PER_SEC;
  let nsec = ns % NS_PER_SEC;
  if (nsec < 0n) {
    nsec += NS_PER_SEC;
    sec -= 1n;
  }
  return { sec, nsec };
}
