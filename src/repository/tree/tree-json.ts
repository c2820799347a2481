/**
 * Tree blobs: `{"nodes":[…]}` plus a newline (RESTIC-FORMAT.md, "Trees"). encodeTree writes
 * what restic 0.14 writes for the same nodes, byte for byte, so identical directories dedupe
 * with restic's snapshots; decodeTree reads and validates a tree from a repository we do not
 * trust.
 */
import { LifeboatError } from '../../core/errors.js';
import { goJsonString, goQuoteBytes, hasLoneSurrogate } from './go-string.js';
import { nodeNameBytes, type TreeNode } from './node.js';

export { decodeTree } from './tree-decode.js';
export { formatGoTime, parseGoTime } from './go-time.js';

/** Go prints a uint64 in decimal; a JS number past 2^53 must not come out as 1e+21. */
function goUint(n: number): string {
  return Number.isSafeInteger(n) ? String(n) : BigInt(Math.trunc(n)).toString();
}

/**
 * One node as Go's encoding/json marshals restic's Node struct: fields in struct order,
 * `omitempty` fields left out when zero or empty, uid, gid and content always present, the
 * time fields always present (omitempty never omits a struct), and the name first passed
 * through strconv.Quote (restic's Node.MarshalJSON).
 */
function encodeNode(node: TreeNode, name: Uint8Array): string {
  const parts: string[] = [
    `"name":${goJsonString(goQuoteBytes(name))}`,
    `"type":${goJsonString(node.type)}`,
  ];
  if (node.mode) parts.push(`"mode":${goUint(node.mode)}`);
  parts.push(
    `"mtime":${goJsonString(node.mtime)}`,
    `"atime":${goJsonString(node.atime)}`,
    `"ctime":${goJsonString(node.ctime)}`,
    `"uid":${goUint(node.uid)}`,
    `"gid":${goUint(node.gid)}`,
  );
  if (node.user) parts.push(`"user":${goJsonString(node.user)}`);
  if (node.group) parts.push(`"group":${goJsonString(node.group)}`);
  if (node.inode) parts.push(`"inode":${goUint(node.inode)}`);
  if (node.device_id) parts.push(`"device_id":${goUint(node.device_id)}`);
  if (node.size) parts.push(`"size":${goUint(node.size)}`);
  if (node.links) parts.push(`"links":${goUint(node.links)}`);
  if (node.linktarget) parts.push(`"linktarget":${goJsonString(node.linktarget)}`);
  if (node.extended_attributes !== undefined && node.extended_attributes.length > 0) {
    const attrs = node.extended_attributes.map(
      (a) => `{"name":${goJsonString(a.name)},"value":${goJsonString(a.value)}}`,
    );
    parts.push(`"extended_attributes":[${attrs.join(',')}]`);
  }
  if (node.device) parts.push(`"device":${goUint(node.device)}`);
  parts.push(
    `"content":${node.content === null ? 'null' : `[${node.content.map((id) => `"${id}"`).join(',')}]`}`,
  );
  if (node.subtree !== undefined) parts.push(`"subtree":"${node.subtree}"`);
  if (node.error) parts.push(`"error":${goJsonString(node.error)}`);
  return `{${parts.join(',')}}`;
}

const ID_RE = /^[0-9a-f]{64}$/;

function checkNode(node: TreeNode): void {
  const internal = (what: string): LifeboatError =>
    new LifeboatError('INTERNAL', `encodeTree: node ${JSON.stringify(node.name)}: ${what}`);
  if (node.rawName === undefined && hasLoneSurrogate(node.name)) throw internal('invalid name');
  for (const id of node.content ?? []) if (!ID_RE.test(id)) throw internal('bad content id');
  if (node.subtree !== undefined && !ID_RE.test(node.subtree)) throw internal('bad subtree id');
  const numbers = [node.mode, node.uid, node.gid, node.inode, node.device_id, node.size];
  numbers.push(node.links, node.device);
  for (const n of numbers) {
    if (n !== undefined && !(Number.isInteger(n) && n >= 0)) throw internal('bad number');
  }
}

/**
 * Serialises nodes into a tree blob exactly as restic 0.14 does. Nodes must be sorted by the
 * bytes of their names with no duplicates (restic's TreeJSONBuilder refuses anything else);
 * a violation is a bug in the caller and throws LifeboatError INTERNAL. An empty list gives
 * `{"nodes":[]}\n`.
 */
export function encodeTree(nodes: readonly TreeNode[]): Buffer {
  const encoded: string[] = [];
  let last: Buffer | undefined;
  for (const node of nodes) {
    checkNode(node);
    const name = nodeNameBytes(node);
    if (name.length === 0) throw new LifeboatError('INTERNAL', 'encodeTree: empty node name');
    if (last !== undefined && Buffer.compare(last, name) >= 0) {
      throw new LifeboatError(
        'INTERNAL',
        `encodeTree: nodes not sorted or duplicated at ${JSON.stringify(node.name)}`,
      );
    }
    last = name;
    encoded.push(encodeNode(node, name));
  }
  return Buffer.from(`{"nodes":[${encoded.join(',')}]}\n`, 'utf8');
}
