/**
 * The repository master key and restic's authenticated encryption (RESTIC-FORMAT.md,
 * "Encryption"): every encrypted object is `IV (16) ‖ AES-256-CTR ciphertext ‖ MAC (16)`,
 * where the MAC is Poly1305-AES over the ciphertext only.
 *
 * Instances are immutable and their methods are synchronous, so one MasterKey may be shared
 * by any number of concurrent callers.
 */
import { createCipheriv, createDecipheriv, createSecretKey, randomFillSync } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { LifeboatError } from '../../core/errors.js';
import { poly1305, poly1305Verify } from './poly1305.js';

const IV_SIZE = 16;
const MAC_SIZE = 16;
const AES_KEY_SIZE = 32;
const MAC_KEY_SIZE = 16;

/** Bytes an encrypted object has beyond its plaintext: the IV in front, the MAC behind. */
export const CIPHERTEXT_OVERHEAD = IV_SIZE + MAC_SIZE;

/** Where the plaintext goes for encryptInPlace(): after the IV. */
export const PLAINTEXT_OFFSET = IV_SIZE;

/** encryptInPlace() runs the cipher over pieces of this size (small transient buffers). */
const ENCRYPT_PIECE = 64 * 1024;

/** The master key as restic stores it inside a key file (all fields standard base64). */
export interface MasterKeyJSON {
  mac: { k: string; r: string };
  encrypt: string;
}

// Poly1305 clamping of r. libsodium clamps internally, so this only matters for what we
// write: restic stores r already clamped, and keys we generate look the same.
const R_MASK = [
  0xff, 0xff, 0xff, 0x0f, 0xfc, 0xff, 0xff, 0x0f, 0xfc, 0xff, 0xff, 0x0f, 0xfc, 0xff, 0xff, 0x0f,
];

function clampR(r: Buffer): Buffer {
  for (let i = 0; i < MAC_KEY_SIZE; i++) r[i] = r[i]! & R_MASK[i]!;
  return r;
}

function isAllZero(bytes: Uint8Array): boolean {
  let acc = 0;
  for (const b of bytes) acc |= b;
  return acc === 0;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function decodeKeyField(value: unknown, field: string, size: number): Buffer {
  if (typeof value !== 'string' || !BASE64.test(value)) {
    throw new LifeboatError('INTEGRITY', `master key: field ${field} is not base64`);
  }
  const bytes = Buffer.from(value, 'base64');
  if (bytes.length !== size) {
    throw new LifeboatError(
      'INTEGRITY',
      `master key: field ${field} has ${bytes.length} bytes, expected ${size}`,
    );
  }
  if (isAllZero(bytes)) {
    throw new LifeboatError('INTEGRITY', `master key: field ${field} is all zero`);
  }
  return bytes;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export class MasterKey {
  private readonly encryptKey: KeyObject;
  private readonly macKey: KeyObject;
  private readonly macR: Buffer;
  private readonly json: MasterKeyJSON;

  private constructor(encrypt: Buffer, macK: Buffer, macR: Buffer) {
    this.encryptKey = createSecretKey(encrypt);
    this.macKey = createSecretKey(macK);
    this.macR = Buffer.from(macR);
    this.json = Object.freeze({
      mac: Object.freeze({ k: macK.toString('base64'), r: macR.toString('base64') }),
      encrypt: encrypt.toString('base64'),
    });
  }

  /** A fresh random key, as `init` creates. */
  static generate(): MasterKey {
    const material = randomFillSync(Buffer.alloc(AES_KEY_SIZE + 2 * MAC_KEY_SIZE));
    return MasterKey.fromKdfOutput(material);
  }

  /**
   * Builds a key from 64 bytes in restic's KDF order: 0–31 AES key, 32–47 MAC k, 48–63 MAC r
   * (design doc, "Keys, Encryption and MAC"). Used for the key derived from a password.
   */
  static fromKdfOutput(material: Uint8Array): MasterKey {
    if (material.length !== AES_KEY_SIZE + 2 * MAC_KEY_SIZE) {
      throw new LifeboatError('INTERNAL', `key material must be 64 bytes, got ${material.length}`);
    }
    const bytes = Buffer.from(material);
    return new MasterKey(
      bytes.subarray(0, AES_KEY_SIZE),
      bytes.subarray(AES_KEY_SIZE, AES_KEY_SIZE + MAC_KEY_SIZE),
      clampR(bytes.subarray(AES_KEY_SIZE + MAC_KEY_SIZE)),
    );
  }

  /** Parses the decrypted `data` of a key file; any deviation is an INTEGRITY error. */
  static fromJSON(v: unknown): MasterKey {
    if (!isRecord(v) || !isRecord(v['mac'])) {
      throw new LifeboatError('INTEGRITY', 'master key: expected {"mac":{"k","r"},"encrypt"}');
    }
    const mac = v['mac'];
    return new MasterKey(
      decodeKeyField(v['encrypt'], 'encrypt', AES_KEY_SIZE),
      decodeKeyField(mac['k'], 'mac.k', MAC_KEY_SIZE),
      decodeKeyField(mac['r'], 'mac.r', MAC_KEY_SIZE),
    );
  }

  toJSON(): MasterKeyJSON {
    return { mac: { k: this.json.mac.k, r: this.json.mac.r }, encrypt: this.json.encrypt };
  }

  /** Returns `IV ‖ ciphertext ‖ MAC` with a fresh random, non-zero IV. */
  encrypt(plaintext: Uint8Array): Buffer {
    const n = plaintext.length;
    const out = Buffer.allocUnsafe(n + CIPHERTEXT_OVERHEAD);
    out.set(plaintext, IV_SIZE);
    this.encryptInPlace(out, n);
    return out;
  }

  /**
   * Encrypts in place: `buf` holds the plaintext at [16, 16 + length) and has room for the
   * MAC after it; the IV is written in front and the MAC behind. Returns the sealed length
   * (length + 32). The cipher runs over pieces of ENCRYPT_PIECE bytes, so even an 8 MiB blob
   * allocates nothing large (chunk workers encrypt inside their shared ring).
   */
  encryptInPlace(buf: Uint8Array, length: number): number {
    const total = length + CIPHERTEXT_OVERHEAD;
    if (buf.length < total) {
      throw new LifeboatError('INTERNAL', `encrypt: ${buf.length} bytes of room for ${total}`);
    }
    const iv = buf.subarray(0, IV_SIZE);
    do randomFillSync(iv);
    while (isAllZero(iv));
    const cipher = createCipheriv('aes-256-ctr', this.encryptKey, iv);
    for (let at = IV_SIZE; at < IV_SIZE + length; at += ENCRYPT_PIECE) {
      const end = Math.min(at + ENCRYPT_PIECE, IV_SIZE + length);
      buf.set(cipher.update(buf.subarray(at, end)), at);
    }
    const tail = cipher.final();
    if (tail.length !== 0) throw new LifeboatError('INTERNAL', 'AES-CTR produced a tail');
    poly1305(
      buf.subarray(IV_SIZE + length, total),
      buf.subarray(IV_SIZE, IV_SIZE + length),
      this.polyKey(iv),
    );
    return total;
  }

  /** Verifies the MAC (constant time) and only then decrypts. Throws INTEGRITY on failure. */
  decrypt(data: Uint8Array): Buffer {
    const { iv, end } = this.verifyMac(data);
    const decipher = createDecipheriv('aes-256-ctr', this.encryptKey, iv);
    const plaintext = decipher.update(data.subarray(IV_SIZE, end));
    const tail = decipher.final();
    return tail.length === 0 ? plaintext : Buffer.concat([plaintext, tail]);
  }

  /**
   * decrypt() without a new buffer: verifies the MAC, then decrypts `data` where it lies and
   * returns the plaintext as a view of it (the ciphertext is gone afterwards).
   */
  decryptInPlace(data: Buffer): Buffer {
    const { iv, end } = this.verifyMac(data);
    const decipher = createDecipheriv('aes-256-ctr', this.encryptKey, iv);
    for (let at = IV_SIZE; at < end; at += ENCRYPT_PIECE) {
      const stop = Math.min(at + ENCRYPT_PIECE, end);
      data.set(decipher.update(data.subarray(at, stop)), at);
    }
    decipher.final();
    return data.subarray(IV_SIZE, end);
  }

  /** Checks `IV ‖ ciphertext ‖ MAC`; returns the IV and where the ciphertext ends. */
  private verifyMac(data: Uint8Array): { iv: Uint8Array; end: number } {
    if (data.length < CIPHERTEXT_OVERHEAD) {
      throw new LifeboatError(
        'INTEGRITY',
        `ciphertext too short: ${data.length} bytes, at least ${CIPHERTEXT_OVERHEAD} needed`,
      );
    }
    const iv = data.subarray(0, IV_SIZE);
    const end = data.length - MAC_SIZE;
    const mac = data.subarray(end);
    if (!poly1305Verify(mac, data.subarray(IV_SIZE, end), this.polyKey(iv))) {
      throw new LifeboatError('INTEGRITY', 'ciphertext verification failed (MAC mismatch)');
    }
    return { iv, end };
  }

  /** The Poly1305 one-time key for one IV: r ‖ AES-128(k, IV) (design doc, "MAC"). */
  private polyKey(iv: Uint8Array): Buffer {
    const key = Buffer.allocUnsafe(MAC_KEY_SIZE * 2);
    this.macR.copy(key, 0);
    const ecb = createCipheriv('aes-128-ecb', this.macKey, null);
    ecb.setAutoPadding(false);
    ecb.update(iv).copy(key, MAC_KEY_SIZE);
    return key;
  }
}
