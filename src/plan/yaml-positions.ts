/**
 * Maps between plan paths and places in the YAML text, so that every issue can name a line:
 * a schema issue's path is looked up in the document, and a YAML error's offset is turned
 * back into the path of the node it falls in.
 */
import { isAlias, isCollection, isMap, isNode, isScalar, isSeq } from 'yaml';
import type { Document, LineCounter, Node } from 'yaml';
import type { PathSegment } from './issues.js';

export interface Position {
  line: number;
  column: number;
}

/**
 * The position an issue at `path` should point to. For a key that is itself wrong (`atKey`),
 * a missing value or a whole mapping or list, that is the key naming it; otherwise the value.
 * A path that does not exist (a missing key) falls back to the deepest key that does.
 */
export function positionOfPath(
  doc: Document,
  lineCounter: LineCounter,
  path: readonly PathSegment[],
  atKey = false,
): Position | undefined {
  let node: unknown = doc.contents;
  let keyNode: unknown;
  let resolved = 0;
  for (const segment of path) {
    const current = isAlias(node) ? node.resolve(doc) : node;
    if (isMap(current)) {
      const pair = current.items.find(
        (p) => isScalar(p.key) && String(p.key.value) === String(segment),
      );
      if (pair === undefined) break;
      keyNode = pair.key;
      node = pair.value;
    } else if (isSeq(current) && typeof segment === 'number') {
      node = current.items[segment];
      if (node === undefined) break;
      keyNode = node;
    } else break;
    resolved++;
  }
  const complete = resolved === path.length;
  const target =
    complete && !atKey && isNode(node) && !isCollection(node) ? node : (keyNode ?? node);
  return startOf(target, lineCounter);
}

/** The path of the deepest key or item whose text contains `offset` (for YAML errors). */
export function pathAtOffset(doc: Document, offset: number): PathSegment[] {
  const path: PathSegment[] = [];
  let node: unknown = doc.contents;
  for (;;) {
    if (isMap(node)) {
      const pair = node.items.find((p) => contains(p.key, offset) || contains(p.value, offset));
      if (pair === undefined || !isScalar(pair.key)) break;
      path.push(String(pair.key.value));
      if (contains(pair.key, offset)) break;
      node = pair.value;
    } else if (isSeq(node)) {
      const index = node.items.findIndex((item) => contains(item, offset));
      if (index < 0) break;
      path.push(index);
      node = node.items[index];
    } else break;
  }
  return path;
}

function contains(node: unknown, offset: number): boolean {
  const range = isNode(node) ? (node as Node).range : undefined;
  return range != null && range[0] <= offset && offset < range[2];
}

function startOf(node: unknown, lineCounter: LineCounter): Position | undefined {
  const range = isNode(node) ? (node as Node).range : undefined;
  if (range == null) return undefined;
  const { line, col } = lineCounter.linePos(range[0]);
  return { line, column: col };
}
