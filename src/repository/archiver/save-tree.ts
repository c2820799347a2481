/** Encodes a directory's nodes as a tree blob and queues it for saving; returns its id. */
import { sha256Hex } from '../ids.js';
import type { BlobWriter } from '../pack/blob-writer.js';
import type { TreeNode } from '../tree/node.js';
import { encodeTree } from '../tree/tree-json.js';
import type { InFlight } from './in-flight.js';

export async function saveTree(
  writer: BlobWriter,
  inflight: InFlight,
  nodes: readonly TreeNode[],
): Promise<string> {
  const data = encodeTree(nodes);
  const id = sha256Hex(data);
  if (!writer.has('tree', id))
    await inflight.start(() => writer.save('tree', data, id), data.length);
  return id;
}
