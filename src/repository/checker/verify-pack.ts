/** check --read-data for one pack: hash, header against index, every blob decrypted. */
import { mapLimit } from '../../core/concurrency.js';
import type { BlobLocation, PackedBlob } from '../blob.js';
import { sha256Hex } from '../ids.js';
import { headerFromTail } from '../pack/read-pack-header.js';
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
  let header: PackedBlob[] | undefined;
  try {
    // The whole pack is in memory, so the tail always holds the header.
    header = headerFromTail(repo.key, packId, data.length, data) as PackedBlob[];
  } catch (err) {
    fail(`header unreadable: ${(err as Error).message}`);
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
