/**
 * Chunks a byte stream into data blobs (restic's content-defined chunking) and hands each
 * chunk to the background savers. Returns the content ids in order once every chunk is
 * hashed; the blobs themselves are stored when the InFlight set drains.
 */
import { chunkStream } from '../chunker/chunker.js';
import { sha256Hex } from '../ids.js';
import type { BlobWriter } from '../pack/blob-writer.js';
import type { HashedChunk } from './chunk-pool.js';
import type { InFlight } from './in-flight.js';

export interface SavedContent {
  content: string[];
  size: number;
}

export async function saveStream(
  writer: BlobWriter,
  inflight: InFlight,
  polynomial: bigint,
  source: AsyncIterable<Uint8Array>,
  onBytes: (n: number) => void,
  signal?: AbortSignal,
): Promise<SavedContent> {
  const content: string[] = [];
  let size = 0;
  for await (const chunk of chunkStream(source, polynomial, signal)) {
    size += chunk.length;
    content.push(await saveChunk(writer, inflight, chunk));
    onBytes(chunk.length);
  }
  return { content, size };
}

async function saveChunk(writer: BlobWriter, inflight: InFlight, chunk: Buffer) {
  const id = sha256Hex(chunk);
  if (!writer.has('data', id))
    await inflight.start(() => writer.save('data', chunk, id), chunk.length);
  return id;
}

/**
 * Stores chunks that were cut and hashed (and maybe sealed) elsewhere: a chunk worker. Each
 * chunk is released once stored, or at once when it is already known.
 */
export async function saveHashedChunks(
  writer: BlobWriter,
  inflight: InFlight,
  chunks: AsyncIterable<HashedChunk>,
  onBytes: (n: number) => void,
): Promise<SavedContent> {
  const content: string[] = [];
  let size = 0;
  for await (const c of chunks) {
    size += c.length;
    let handedOver = false;
    try {
      if (!writer.has('data', c.id)) {
        await inflight.start(async () => {
          try {
            await (c.sealed
              ? writer.saveSealed('data', c.id, c.length, {
                  sealed: c.data,
                  uncompressed: c.uncompressed,
                })
              : writer.sealHere('data', c.data, c.id));
          } finally {
            c.release();
          }
        }, c.data.length);
        handedOver = true;
      }
    } finally {
      if (!handedOver) c.release();
    }
    content.push(c.id);
    onBytes(c.length);
  }
  return { content, size };
}
