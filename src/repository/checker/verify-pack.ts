/** check --read-data for one pack: hash, header against index, every blob decrypted. */
import { mapLimit } from '../../core/concurrency.js';
import type { BlobLocation } from '../blob.js';
import { CIPHERTEXT_OVERHEAD } from '../crypto/master-key.js';
import { sha256Hex } from '../ids.js';
import { decodeHeader, MAX_HEADER_SIZE } from '../pack/pack-header.js';
import type { Repository } from '../repository.js';
import type { CheckProblem } from './problem.js';

export async function verifyPackData(
  repo: Repository,
  packId: string,
  size: number,
  indexed: readonly BlobLocation[],
  signal?: AbortSignal,
): Promise<CheckProblem[]> {
  const problems: CheckProblem[] = [];
  const fail = (message: string, blobId?: string) =>
    problems.push({
      kind: 'pack-data',
      packId,
      ...(blobId ? { blobId } : {}),
      message: `pack ${packId}${blobId ? `, blob ${blobId}` : ''}: ${message}`,
    });
  let data: Buffer;
  try {
    data = await repo.backend.load(
      { type: 'pack', name: packId },
      { offset: 0, length: size },
      signal,
    );
  } catch (err) {
    fail(`cannot be read: ${(err as Error).message}`);
    return problems;
  }
  if (sha256Hex(data) !== packId) fail('content does not match its name (pack damaged)');

  // The header tells which blobs the pack really holds; compare with what the index claims.
  let header: ReturnType<typeof decodeHeader> | undefined;
  const headerLen = data.length >= 4 ? data.readUInt32LE(data.length - 4) : 0;
  if (
    headerLen < CIPHERTEXT_OVERHEAD ||
    headerLen > MAX_HEADER_SIZE ||
    headerLen > data.length - 4
  ) {
    fail(`header length ${headerLen} is impossible`);
  } else {
    const dataEnd = data.length - 4 - headerLen;
    try {
      header = decodeHeader(
        repo.key.decrypt(data.subarray(dataEnd, data.length - 4)),
        dataEnd,
        packId,
      );
    } catch (err) {
      fail(`header unreadable: ${(err as Error).message}`);
    }
  }
  if (header) {
    const inHeader = new Map(header.map((b) => [b.type + b.id, b]));
    for (const b of indexed) {
      const h = inHeader.get(b.type + b.id);
      if (!h || h.offset !== b.offset || h.length !== b.length) {
        fail('index entry does not match the pack header', b.id);
      }
    }
  }
  const blobs = header ? header.map((b) => ({ ...b, packId })) : indexed;
  // Decompression runs on the thread pool: verify several blobs of the pack at once.
  await mapLimit(blobs, 4, async (b) => {
    if (b.offset + b.length > data.length) {
      fail(`lies beyond the end of the pack (${b.offset}+${b.length} > ${data.length})`, b.id);
      return;
    }
    try {
      await repo.openBlob(b, data.subarray(b.offset, b.offset + b.length));
    } catch (err) {
      fail((err as Error).message, b.id);
    }
  });
  return problems;
}
