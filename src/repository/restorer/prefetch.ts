/**
 * Yields the blobs of a file's content in order while loading up to `ahead` of them at once
 * (decryption and decompression overlap). Each buffer is released as soon as it is yielded,
 * so memory stays at `ahead` blobs whatever the file size.
 */
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
