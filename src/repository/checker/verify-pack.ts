/**
 * check --read-data for one pack: hash, header against index, every blob decrypted,
 * decompressed and hashed. Synchronous after the load and into buffers reused from pack to
 * pack (PackBuffers): a check reads the whole repository, and a new buffer per pack and per
 * blob made glibc's heap grow to 100 MiB and more.
 */
import { locatedIn, type BlobLocation, type PackedBlob } from '../blob.js';
import { sha256Hex } from '../ids.js';
import { openBlobInPlace } from '../open-blob.js';
import { headerFromTail } from '../pack/read-pack-header.js';
import type { Repository } from '../repository.js';
import type { CheckProblem } from './problem.js';

/** The buffers one check reuses: the pack, and the largest decompressed blob. */
export interface PackBuffers {
  pack: Buffer;
  blob: { buffer: Buffer };
}

/** `packSize`: the largest pack that will be read, if known (the buffer grows otherwise). */
export function packBuffers(packSize = 0): PackBuffers {
  return { pack: Buffer.allocUnsafeSlow(packSize), blob: { buffer: Buffer.alloc(0) } };
}

export async function verifyPackData(
  repo: Repository,
  packId: string,
  size: number,
  indexed: readonly BlobLocation[],
  buffers: PackBuffers,
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
    if (buffers.pack.length < size) buffers.pack = Buffer.allocUnsafeSlow(size);
    data = await repo.backend.load(
      { type: 'pack', name: packId },
      { offset: 0, length: size, into: buffers.pack },
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
  const blobs = header ? header.map((b) => locatedIn(b, packId)) : indexed;
  // Decrypted in place: the pack's hash and header were read above. Blobs that overlap
  // (a crafted header) are caught by their MAC or their hash either way.
  for (const b of blobs) {
    if (b.offset + b.length > data.length) {
      fail(`lies beyond the end of the pack (${b.offset}+${b.length} > ${data.length})`, b.id);
      continue;
    }
    try {
      openBlobInPlace(repo.key, b, data.subarray(b.offset, b.offset + b.length), buffers.blob);
    } catch (err) {
      fail((err as Error).message, b.id);
    }
  }
  return problems;
}
