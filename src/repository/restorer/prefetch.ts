/**
 * Yields the blobs of a file's content in order while loading up to `ahead` of them at once
 * (decryption and decompression overlap). Each buffer is released as soon as it is yielded,
 * so memory stays at `ahead` blobs whatever the file size.
 */
import type { BlobLocation } from '../blob.js';
import { openBlobInPlace } from '../open-blob.js';
import type { Repository } from '../repository.js';

export async function* prefetchBlobs(
  repo: Repository,
  ids: readonly string[],
  ahead: number,
  signal?: AbortSignal,
): AsyncGenerator<Buffer> {
  const queue: Promise<Buffer>[] = [];
  let next = 0;
  const fill = () => {
    while (next < ids.length && queue.length < ahead) {
      const load = repo.loadBlob('data', ids[next++]!, signal);
      // A failure is thrown when its turn comes; until then (or if an earlier blob fails
      // first) it must not count as an unhandled rejection, which would kill the process.
      load.catch(() => undefined);
      queue.push(load);
    }
  };
  fill();
  while (queue.length > 0) {
    const buf = await queue.shift()!;
    fill();
    yield buf;
  }
}

/**
 * prefetchBlobs() for a consumer that is done with each buffer by the time it asks for the
 * `buffers`-th one after it (the restorer keeps one write in flight: 2): only the reads run
 * ahead; each blob is opened when its turn comes, in place and into one of `buffers` buffers
 * used in turn for the whole file (open-blob.ts, openBlobInPlace), so a large file's restore
 * allocates no buffer per blob but its read.
 */
export async function* prefetchBlobsReused(
  repo: Repository,
  ids: readonly string[],
  ahead: number,
  signal?: AbortSignal,
  buffers = 2,
): AsyncGenerator<Buffer> {
  const queue: Promise<{ loc: BlobLocation; raw: Buffer }>[] = [];
  const outs = Array.from({ length: buffers }, () => ({ buffer: Buffer.alloc(0) }));
  let turn = 0;
  let next = 0;
  const fill = () => {
    while (next < ids.length && queue.length < ahead) {
      const loc = repo.locate('data', ids[next++]!);
      const load = repo.loadPackRange(loc, loc.offset, loc.length, signal).then((raw) => ({
        loc,
        raw,
      }));
      load.catch(() => undefined); // thrown when its turn comes (see prefetchBlobs)
      queue.push(load);
    }
  };
  fill();
  while (queue.length > 0) {
    const { loc, raw } = await queue.shift()!;
    fill();
    yield openBlobInPlace(repo.key, loc, raw, outs[turn++ % buffers]!);
  }
}
