/**
 * Key files (`keys/<id>`): plaintext JSON that holds the master key encrypted with a key
 * derived from one password by scrypt (RESTIC-FORMAT.md, "Encryption"; restic design doc,
 * "Keys, Encryption and MAC"). A repository has one key file per password.
 */
import { createHash, randomBytes, scrypt } from 'node:crypto';
import { LifeboatError, isLifeboatError } from '../../core/errors.js';
import { CIPHERTEXT_OVERHEAD, MasterKey } from './master-key.js';

export interface KdfParams {
  N: number;
  r: number;
  p: number;
}

/** Cost we write for new keys; restic 0.14 calibrates to N=32768, r=8 and a small p. */
export const DEFAULT_KDF: KdfParams = Object.freeze({ N: 32768, r: 8, p: 1 });

/** A key file as stored, field for field (restic writes exactly these, in this order). */
export interface KeyFileJSON {
  created: string;
  username: string;
  hostname: string;
  kdf: string;
  N: number;
  r: number;
  p: number;
  /** Standard base64 of 64 random bytes. */
  salt: string;
  /** Standard base64 of the encrypted master-key JSON (IV ‖ ciphertext ‖ MAC). */
  data: string;
}

// restic's scrypt call rejects any salt that is not exactly 64 bytes.
const SALT_SIZE = 64;
const KDF_OUTPUT_SIZE = 64;

// Bounds on the KDF cost a key file may ask for. A hostile file could otherwise make scrypt
// allocate gigabytes or run for hours. restic's own calibration stays far below these
// (≈60 MiB memory target, 0.5 s).
const MAX_KDF_MEMORY = 256 * 1024 * 1024;
const MAX_KDF_WORK = 2 ** 25; // N·r·p; 128× the default cost
const MAX_R = 64;
const MAX_P = 1024;

/** Bytes scrypt needs for these parameters (OpenSSL: 128·r·p for B plus 128·r·(N+2) for V). */
function scryptMemory({ N, r, p }: KdfParams): number {
  return 128 * r * p + 128 * r * (N + 2);
}

/** Throws INTEGRITY unless N, r, p are sane scrypt parameters within our cost bounds. */
export function checkKdfParams(params: KdfParams, where = 'key file'): void {
  const { N, r, p } = params;
  const ok =
    Number.isSafeInteger(N) &&
    Number.isSafeInteger(r) &&
    Number.isSafeInteger(p) &&
    N >= 2 &&
    (N & (N - 1)) === 0 &&
    r >= 1 &&
    r <= MAX_R &&
    p >= 1 &&
    p <= MAX_P &&
    scryptMemory(params) <= MAX_KDF_MEMORY &&
    N * r * p <= MAX_KDF_WORK;
  if (!ok) {
    throw new LifeboatError('INTEGRITY', `${where}: unacceptable scrypt parameters`, {
      details: { N, r, p },
    });
  }
}

async function deriveKey(password: string, salt: Buffer, params: KdfParams): Promise<MasterKey> {
  const { N, r, p } = params;
  const derived = await new Promise<Buffer>((resolve, reject) => {
    scrypt(
      password,
      salt,
      KDF_OUTPUT_SIZE,
      { N, r, p, maxmem: scryptMemory(params) },
      (err, key) => {
        if (err)
          reject(new LifeboatError('INTERNAL', `scrypt failed: ${err.message}`, { cause: err }));
        else resolve(key);
      },
    );
  });
  return MasterKey.fromKdfOutput(derived);
}

/** Go's RFC3339Nano: fractional seconds without trailing zeros, UTC as "Z". */
function formatCreated(d: Date): string {
  const iso = d.toISOString(); // 2024-01-02T03:04:05.678Z
  const [whole, frac = '000'] = iso.slice(0, -1).split('.');
  const digits = frac.padEnd(9, '0').replace(/0+$/, '');
  return `${whole}${digits === '' ? '' : `.${digits}`}Z`;
}

/**
 * Builds a new key file for `master` protected by `password`. Returns the bytes to store as
 * `keys/<id>` and the id (hex SHA-256 of the bytes). Does not write anything.
 */
export async function createKeyFile(
  password: string,
  master: MasterKey,
  opts: { username: string; hostname: string; kdf?: KdfParams; now?: Date },
): Promise<{ bytes: Buffer; id: string }> {
  const params = opts.kdf ?? DEFAULT_KDF;
  checkKdfParams(params, 'new key');
  const salt = randomBytes(SALT_SIZE);
  const user = await deriveKey(password, salt, params);
  const data = user.encrypt(Buffer.from(JSON.stringify(master.toJSON()), 'utf8'));
  const json: KeyFileJSON = {
    created: formatCreated(opts.now ?? new Date()),
    username: opts.username,
    hostname: opts.hostname,
    kdf: 'scrypt',
    N: params.N,
    r: params.r,
    p: params.p,
    salt: salt.toString('base64'),
    data: data.toString('base64'),
  };
  const bytes = Buffer.from(JSON.stringify(json), 'utf8');
  return { bytes, id: createHash('sha256').update(bytes).digest('hex') };
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function fail(message: string): never {
  throw new LifeboatError('INTEGRITY', `key file: ${message}`);
}

function optionalString(r: Record<string, unknown>, field: string): string {
  const v = r[field];
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') fail(`field ${field} is not a string`);
  return v;
}

function requiredInt(r: Record<string, unknown>, field: string): number {
  const v = r[field];
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) fail(`field ${field} is not an integer`);
  return v;
}

function requiredBase64(r: Record<string, unknown>, field: string): string {
  const v = r[field];
  if (typeof v !== 'string' || !BASE64.test(v)) fail(`field ${field} is not base64`);
  return v;
}

/**
 * Parses and structurally validates a key file without opening it (for `key list`).
 * Throws INTEGRITY for anything that is not a well-formed scrypt key file.
 */
export function parseKeyFile(bytes: Uint8Array): KeyFileJSON {
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('utf8'));
  } catch (err) {
    throw new LifeboatError('INTEGRITY', 'key file: not valid JSON', { cause: err });
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail('not a JSON object');
  const r = raw as Record<string, unknown>;
  if (r['kdf'] !== 'scrypt') fail(`unknown kdf ${JSON.stringify(r['kdf']) ?? 'undefined'}`);
  const parsed: KeyFileJSON = {
    created: optionalString(r, 'created'),
    username: optionalString(r, 'username'),
    hostname: optionalString(r, 'hostname'),
    kdf: 'scrypt',
    N: requiredInt(r, 'N'),
    r: requiredInt(r, 'r'),
    p: requiredInt(r, 'p'),
    salt: requiredBase64(r, 'salt'),
    data: requiredBase64(r, 'data'),
  };
  if (Buffer.byteLength(parsed.salt, 'base64') !== SALT_SIZE) {
    fail(`salt must be ${SALT_SIZE} bytes`);
  }
  if (Buffer.byteLength(parsed.data, 'base64') < CIPHERTEXT_OVERHEAD) fail('data too short');
  return parsed;
}

/**
 * Opens a key file with a password. Returns undefined when the password does not fit (the
 * MAC of `data` does not verify); throws INTEGRITY when the file is malformed or asks for
 * scrypt parameters beyond our bounds, or when `data` decrypts to something that is not a
 * master key.
 */
export async function openKeyFile(
  bytes: Uint8Array,
  password: string,
): Promise<MasterKey | undefined> {
  const file = parseKeyFile(bytes);
  checkKdfParams(file);
  const user = await deriveKey(password, Buffer.from(file.salt, 'base64'), file);
  let plaintext: Buffer;
  try {
    plaintext = user.decrypt(Buffer.from(file.data, 'base64'));
  } catch (err) {
    // The length was checked above, so a failure here is the MAC: with a key derived from
    // the password that means "wrong password"; the file cannot be judged without the right one.
    if (isLifeboatError(err, 'INTEGRITY')) return undefined;
    throw err;
  }
  let json: unknown;
  try {
    json = JSON.parse(plaintext.toString('utf8'));
  } catch (err) {
    throw new LifeboatError('INTEGRITY', 'key file: decrypted master key is not JSON', {
      cause: err,
    });
  }
  return MasterKey.fromJSON(json);
}
