/** Reads and validates pack headers (check, repair, and check --read-data on loaded packs). */
import { LifeboatError } from '../../core/errors.js';
import type { Backend } from '../../storage/backend.js';
import type { PackedBlob } from '../blob.js';
import type { MasterKey } from '../crypto/master-key.js';
import { CIPHERTEXT_OVERHEAD } from '../crypto/master-key.js';
import { decodeHeader, MAX_HEADER_SIZE } from './pack-header.js';

/** Most headers fit in the tail we read first; restic reads a similar guess to save a trip. */
const TAIL_GUESS = 64 * 1024;

/**
 * Parses the header of a pack of `packSize` bytes from `tail`, its last bytes. Returns the
 * blobs, or the number of tail bytes needed when the header is longer than the tail.
 * Throws INTEGRITY naming the pack for an impossible length or a header that fails to decrypt.
 */
export function headerFromTail(
  key: MasterKey,
  packId: string,
  packSize: number,
  tail: Buffer,
): PackedBlob[] | number {
  const fail = (message: string, cause?: unknown) =>
    new LifeboatError('INTEGRITY', `pack ${packId}: ${message}`, {
      details: { packId },
      ...(cause ? { cause } : {}),
    });
  if (packSize < 4 + CIPHERTEXT_OVERHEAD || tail.length < 4) {
    throw fail(`only ${packSize} bytes, too short`);
  }
  const headerLen = tail.readUInt32LE(tail.length - 4);
  if (headerLen < CIPHERTEXT_OVERHEAD || headerLen > MAX_HEADER_SIZE || headerLen > packSize - 4) {
    throw fail(`header length ${headerLen} is impossible for a pack of ${packSize} bytes`);
  }
  if (headerLen + 4 > tail.length) return headerLen + 4;
  const dataEnd = packSize - 4 - headerLen;
  let plain: Buffer;
  try {
    plain = key.decrypt(tail.subarray(tail.length - 4 - headerLen, tail.length - 4));
  } catch (cause) {
    throw fail('header fails verification', cause);
  }
  return decodeHeader(plain, dataEnd, packId);
}

export async function readPackHeader(
  backend: Backend,
  key: MasterKey,
  packId: string,
  packSize: number,
  signal?: AbortSignal,
): Promise<PackedBlob[]> {
  const load = (length: number) =>
    backend.load({ type: 'pack', name: packId }, { offset: packSize - length, length }, signal);
  const first = headerFromTail(key, packId, packSize, await load(Math.min(packSize, TAIL_GUESS)));
  if (typeof first !== 'number') return first;
  const second = headerFromTail(key, packId, packSize, await load(first));
  if (typeof second === 'number') throw new LifeboatError('INTERNAL', 'pack header re-read');
  return second;
}
