/** Depth-first walk of a snapshot's trees, in name order, yielding each node with its path. */
import type { Repository } from '../repository.js';
import type { TreeNode } from '../tree/node.js';
import { decodeTree } from '../tree/tree-json.js';

export interface WalkEntry {
  /** Snapshot path, e.g. /home/a/file. */
  path: string;
  node: TreeNode;
}

export async function* walkTree(
  repo: Repository,
  treeId: string,
  signal?: AbortSignal,
  prefix = '',
): AsyncGenerator<WalkEntry> {
  const nodes = decodeTree(await repo.loadBlob('tree', treeId, signal), treeId);
  for (const node of nodes) {
    const path = `${prefix}/${node.name}`;
    yield { path, node };
    if (node.type === 'dir' && node.subtree) yield* walkTree(repo, node.subtree, signal, path);
  }
}

/** Finds the node at a snapshot path (`/a/b/c`), or undefined. */
export async function findNode(
  repo: Repository,
  rootTree: string,
  path: string,
  signal?: AbortSignal,
): Promise<TreeNode | undefined> {
  const parts = path.split('/').filter((p) => p !== '');
  let tree: string | undefined = rootTree;
  let found: TreeNode | undefined;
  for (const part of parts) {
    if (!tree) return undefined;
    const nodes = decodeTree(await repo.loadBlob('tree', tree, signal), tree);
    found = nodes.find((n) => n.name === part);
    if (!found) return undefined;
    tree = found.type === 'dir' ? found.subtree : undefined;
  }
  return found;
}
