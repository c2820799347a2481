/**
 * Reading tree blobs from a repository that may be damaged or hostile. Everything a restore
 * or a listing later trusts is checked here once: names that could escape a directory, types,
 * ids, numbers and timestamps. Field semantics follow restic's Node (RESTIC-FORMAT.md, "Trees").
 */
import { isUtf8 } from 'node:buffer';
import { LifeboatError } from '../../core/errors.js';
import { parseGoTime } from './go-time.js';
import { goLossyUtf8, goUnquoteToBytes } from './go-string.js';
import { NODE_TYPES, type ExtendedAttribute, type NodeType, type TreeNode } from './node.js';

/** What Go's zero time.Time marshals to: a node without a time field decodes to this. */
const GO_ZERO_TIME = '0001-01-01T00:00:00Z';
const HEX_ID_RE = /^[0-9a-fA-F]{64}$/;
const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const UINT32_MAX = 2 ** 32 - 1;
const UINT64_MAX = 2 ** 64;

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

class NodeReader {
  constructor(
    private readonly raw: Json,
    private readonly where: string,
  ) {}

  fail(what: string): LifeboatError {
    return new LifeboatError('INTEGRITY', `${this.where}: ${what}`);
  }

  string(key: string): string | undefined {
    const v = this.raw[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string') throw this.fail(`${key} is not a string`);
    return v;
  }

  /** A Go unsigned integer field; `max` is the Go type's range. */
  uint(key: string, max: number): number | undefined {
    const v = this.raw[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) {
      throw this.fail(`${key} is not an unsigned integer in range`);
    }
    return v;
  }

  time(key: string): string {
    const v = this.string(key) ?? GO_ZERO_TIME;
    try {
      parseGoTime(v);
    } catch {
      throw this.fail(`${key} is not an RFC 3339 timestamp`);
    }
    return v;
  }

  id(v: unknown, what: string): string {
    if (typeof v !== 'string' || !HEX_ID_RE.test(v)) throw this.fail(`${what} is not an id`);
    // Go's hex decoder takes upper case too; re-encoding writes lower case, as restic would.
    return v.toLowerCase();
  }
}

function describe(name: string): string {
  const shown = name.length > 200 ? `${name.slice(0, 200)}…` : name;
  return JSON.stringify(shown);
}

/** Validates a name restic stored Go-quoted; returns its bytes. */
function decodeName(quoted: unknown, where: string): Buffer {
  const fail = (what: string): LifeboatError =>
    new LifeboatError('INTEGRITY', `${where}: node name ${what}`);
  if (typeof quoted !== 'string') throw fail('missing or not a string');
  const bytes = goUnquoteToBytes(quoted);
  if (bytes === null) throw fail(`${describe(quoted)} is not a valid quoted string`);
  if (bytes.length === 0) throw fail('is empty');
  const shown = describe(goLossyUtf8(bytes));
  if (bytes.equals(Buffer.from('.')) || bytes.equals(Buffer.from('..'))) {
    throw fail(`${shown} is a relative path component`);
  }
  if (bytes.includes(0x2f)) throw fail(`${shown} contains "/"`);
  if (bytes.includes(0)) throw fail(`${shown} contains NUL`);
  return bytes;
}

function decodeAttributes(r: NodeReader, v: unknown): ExtendedAttribute[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) throw r.fail('extended_attributes is not an array');
  return v.map((a): ExtendedAttribute => {
    if (!isObject(a) || typeof a.name !== 'string') {
      throw r.fail('extended attribute without a name');
    }
    // Go marshals a nil []byte as null; Lifeboat keeps it as the empty value.
    const value = a.value ?? '';
    if (typeof value !== 'string' || !BASE64_RE.test(value)) {
      throw r.fail(`extended attribute ${describe(a.name)} has no base64 value`);
    }
    return { name: a.name, value };
  });
}

function decodeNode(raw: unknown, index: number, tree: string): [TreeNode, Buffer] {
  if (!isObject(raw))
    throw new LifeboatError('INTEGRITY', `${tree}: node ${index} is not an object`);
  const nameBytes = decodeName(raw.name, `${tree}: node ${index}`);
  const valid = isUtf8(nameBytes);
  const name = valid ? nameBytes.toString('utf8') : goLossyUtf8(nameBytes);
  const r = new NodeReader(raw, `${tree}: node ${describe(name)}`);

  const type = r.string('type');
  if (type === undefined || !(NODE_TYPES as readonly string[]).includes(type)) {
    throw r.fail(`unknown type ${JSON.stringify(type ?? null)}`);
  }
  const node: TreeNode = {
    name,
    type: type as NodeType,
    mode: r.uint('mode', UINT32_MAX) ?? 0,
    mtime: r.time('mtime'),
    atime: r.time('atime'),
    ctime: r.time('ctime'),
    uid: r.uint('uid', UINT32_MAX) ?? 0,
    gid: r.uint('gid', UINT32_MAX) ?? 0,
    content: null,
  };
  if (!valid) node.rawName = nameBytes;
  // omitempty fields: a zero value is the same as absent, so leave it out.
  for (const key of ['user', 'group', 'linktarget', 'error'] as const) {
    const v = r.string(key);
    if (v) node[key] = v;
  }
  for (const key of ['inode', 'device_id', 'size', 'links', 'device'] as const) {
    const v = r.uint(key, UINT64_MAX);
    if (v) node[key] = v;
  }
  const attrs = decodeAttributes(r, raw.extended_attributes);
  if (attrs !== undefined) node.extended_attributes = attrs;

  const content = raw.content;
  if (content !== undefined && content !== null) {
    if (!Array.isArray(content)) throw r.fail('content is not an array');
    node.content = content.map((id, i) => r.id(id, `content[${i}]`));
  }
  if (raw.subtree !== undefined && raw.subtree !== null)
    node.subtree = r.id(raw.subtree, 'subtree');
  if (node.type === 'dir' && node.subtree === undefined) throw r.fail('directory without subtree');
  return [node, nameBytes];
}

/**
 * Go writes a string byte that is not UTF-8 as the escape `\ufffd` and a real U+FFFD raw.
 * Turning the escapes into INVALID_BYTE_MARK keeps that difference, so re-encoding gives
 * restic's bytes back. Escaped backslashes are matched first so `\\ufffd` is left alone.
 */
function markInvalidBytes(json: string): string {
  if (!/\\u[fF]{3}[dD]/.test(json)) return json;
  return json.replace(/\\\\|\\u[fF]{3}[dD]/g, (m) => (m.length === 2 ? m : '\\udcff'));
}

/**
 * Parses and validates a tree blob. Unknown fields are ignored; a missing field decodes to
 * Go's zero value, as restic reads it. Names must be non-empty, not `.` or `..`, free of `/`
 * and NUL, and strictly sorted by bytes. Any violation throws LifeboatError INTEGRITY naming
 * the tree (`treeId`) and the node.
 */
export function decodeTree(data: Uint8Array, treeId?: string): TreeNode[] {
  const tree = `tree ${treeId ?? '(unknown id)'}`;
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  // Go's decoder replaces each invalid byte with U+FFFD; do the same before JSON.parse.
  const text = isUtf8(buf) ? buf.toString('utf8') : goLossyUtf8(buf);
  let parsed: unknown;
  try {
    parsed = JSON.parse(markInvalidBytes(text));
  } catch (err) {
    throw new LifeboatError('INTEGRITY', `${tree}: not valid JSON`, { cause: err });
  }
  if (!isObject(parsed)) throw new LifeboatError('INTEGRITY', `${tree}: not a JSON object`);
  const list = parsed.nodes;
  if (list === null) return [];
  if (!Array.isArray(list)) throw new LifeboatError('INTEGRITY', `${tree}: no "nodes" array`);
  const nodes: TreeNode[] = [];
  let last: Buffer | undefined;
  list.forEach((raw, i) => {
    const [node, name] = decodeNode(raw, i, tree);
    if (last !== undefined && Buffer.compare(last, name) >= 0) {
      throw new LifeboatError(
        'INTEGRITY',
        `${tree}: node ${describe(node.name)} is out of order or a duplicate`,
      );
    }
    last = name;
    nodes.push(node);
  });
  return nodes;
}
