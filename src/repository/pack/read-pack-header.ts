/** Reads and validates the header of a pack in the backend (used by check and repair). */
import { LifeboatError } from '../../core/errors.js';
import type { Backend } from '../../storage/backend.js';
import type { PackedBlob } from '../blob.js';
import type { MasterKey } from '../crypto/master-key.js';
import { CIPHERTEXT_OVERHEAD } from '../crypto/master-key.js';
import { decodeHeader, MAX_HEADER_SIZE } from './pack-header.js';

/** Most headers fit in the tail we read first; restic reads a similar guess to save a trip. */
const TAIL_GUESS = 64 * 1024;

export async function readPackHeader(
  backend: Backend,
  key: MasterKey,
  packId: string,
  packSize: number,
  signal?: AbortSignal,
): Promise<PackedBlob[]> {
  if (packSize < 4 + CIPHERTEXT_OVERHEAD) {
    throw new LifeboatError('INTEGRITY', `pack ${packId}: only ${packSize} bytes, too short`, {
      details: { packId },
    });
  }
  const tailLen = Math.min(packSize, TAIL_GUESS);
  let tail = await backend.load(
    { type: 'pack', name: packId },
    { offset: packSize - tailLen, length: tailLen },
    signal,
  );
  const headerLen = tail.readUInt32LE(tail.length - 4);
  if (headerLen < CIPHERTEXT_OVERHEAD || headerLen > MAX_HEADER_SIZE || headerLen > packSize - 4) {
    throw new LifeboatError(
      'INTEGRITY',
      `pack ${packId}: header length ${headerLen} is impossible for a pack of ${packSize} bytes`,
      { details: { packId } },
    );
  }
  const dataEnd = packSize - 4 - headerLen;
  let header: Buffer;
  if (headerLen + 4 <= tail.length) {
    header = tail.subarray(tail.length - 4 - headerLen, tail.length - 4);
  } else {
    tail = await backend.load(
      { type: 'pack', name: packId },
      { offset: dataEnd, length: headerLen },
      signal,
    );
    header = tail;
  }
  let plain: Buffer;
  try {
    plain = key.decrypt(header);
  } catch (cause) {
    throw new LifeboatError('INTEGRITY', `pack ${packId}: header fails verification`, {
      cause,
      details: { packId },
    });
  }
  return decodeHeader(plain, dataEnd, packId);
}
