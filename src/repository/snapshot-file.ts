/**
 * Reading one file of a snapshot as a stream: what `dump` prints and what a database restore
 * feeds to its tool. Blobs are loaded a few ahead, so memory stays bounded.
 */
import { LifeboatError } from '../core/errors.js';
import type { Repository } from './repository.js';
import { prefetchBlobs, prefetchBlobsReused } from './restorer/prefetch.js';
import { findNode } from './restorer/walk.js';
import type { StoredSnapshot } from './snapshot.js';
import type { TreeNode } from './tree/node.js';

export interface SnapshotFile {
  readonly node: TreeNode;
  readonly size: number;
  /** The file's bytes in order; each blob is verified as it is loaded. Iterate once. */
  readonly content: AsyncIterable<Buffer>;
}

/** Finds `path` (e.g. "/db-app.pgdump") in the snapshot; NOT_FOUND or INVALID_ARGUMENT otherwise. */
export async function openSnapshotFile(
  repo: Repository,
  snapshot: StoredSnapshot,
  path: string,
  signal?: AbortSignal,
  /**
   * For a consumer done with each buffer by the time it takes the `reuseAfter`-th one after
   * it: the buffers are reused (prefetchBlobsReused), so reading allocates nothing per blob.
   */
  reuseAfter?: number,
): Promise<SnapshotFile> {
  await repo.loadIndex(signal);
  const node = await findNode(repo, snapshot.tree, path, signal);
  if (!node) {
    throw new LifeboatError('NOT_FOUND', `${path} is not in snapshot ${snapshot.id.slice(0, 8)}`, {
      details: { snapshot: snapshot.id, path },
    });
  }
  if (node.type !== 'file') {
    throw new LifeboatError('INVALID_ARGUMENT', `${path} is a ${node.type}, not a file`);
  }
  return {
    node,
    size: node.size ?? 0,
    content:
      reuseAfter === undefined
        ? prefetchBlobs(repo, node.content ?? [], 4, signal)
        : prefetchBlobsReused(repo, node.content ?? [], 4, signal, reuseAfter),
  };
}
