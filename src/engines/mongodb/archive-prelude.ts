/**
 * Reads the prelude of a mongodump archive: which collections it holds, before any document.
 * The restore uses it twice without a MongoDB client: on each part, to learn which databases
 * it will write, and on a `mongodump --archive` of the target, to learn which collections are
 * already there (TARGET_NOT_EMPTY is decided before anything is changed).
 *
 * Format (mongo-tools, "archive format specification"): the magic number 0x8199e26d
 * (little-endian), a header document, one collection-metadata document
 * {db, collection, metadata, size, …} per collection, then the terminator 0xffffffff; the
 * interleaved collection data follows.
 */
import { LifeboatError } from '../../core/errors.js';

export const ARCHIVE_MAGIC = 0x8199e26d;
const TERMINATOR = -1;
/** Index and option definitions only; a prelude anywhere near this is not a prelude. */
const MAX_PRELUDE = 256 << 20;

export interface Namespace {
  readonly db: string;
  readonly collection: string;
}

export interface Prelude {
  readonly namespaces: readonly Namespace[];
  /** The whole archive again: the bytes read for the prelude, then the rest of the source. */
  readonly stream: AsyncIterable<Uint8Array>;
  /** Stops reading the source (kills a producing tool) when the stream will not be consumed. */
  close(): Promise<void>;
}

function bad(what: string, why: string): LifeboatError {
  return new LifeboatError('INTEGRITY', `${what}: not a mongodump archive (${why})`);
}

function cstringEnd(buf: Buffer, at: number, end: number, what: string): number {
  const nul = buf.indexOf(0, at);
  if (nul < 0 || nul >= end) throw bad(what, 'unterminated name in a document');
  return nul;
}

/** Top-level string fields of one BSON document at buf[start, start+len). */
function stringFields(buf: Buffer, start: number, len: number, what: string): Map<string, string> {
  const end = start + len - 1; // the document's final 0x00
  const out = new Map<string, string>();
  let at = start + 4;
  while (at < end) {
    const type = buf[at]!;
    const nameEnd = cstringEnd(buf, at + 1, end, what);
    const name = buf.toString('utf8', at + 1, nameEnd);
    at = nameEnd + 1;
    let size: number;
    switch (type) {
      case 0x02: // string
      case 0x0d: // JavaScript code
      case 0x0e: // symbol
        size = 4 + buf.readInt32LE(at);
        if (type === 0x02) out.set(name, buf.toString('utf8', at + 4, at + size - 1));
        break;
      case 0x03: // document
      case 0x04: // array
      case 0x0f: // code with scope
        size = buf.readInt32LE(at);
        break;
      case 0x05: // binary
        size = 5 + buf.readInt32LE(at);
        break;
      case 0x01: // double
      case 0x09: // UTC datetime
      case 0x11: // timestamp
      case 0x12: // int64
        size = 8;
        break;
      case 0x10: // int32
        size = 4;
        break;
      case 0x08: // bool
        size = 1;
        break;
      case 0x07: // ObjectId
        size = 12;
        break;
      case 0x13: // decimal128
        size = 16;
        break;
      case 0x06: // undefined
      case 0x0a: // null
      case 0x7f: // max key
      case 0xff: // min key
        size = 0;
        break;
      default:
        throw bad(what, `unknown BSON type 0x${type.toString(16)}`);
    }
    if (size < 0 || at + size > end) throw bad(what, 'a field runs past its document');
    at += size;
  }
  return out;
}

/**
 * Parses a complete prelude from `buf`: the namespaces and the offset just past the terminator,
 * or undefined when more bytes are needed. Throws INTEGRITY when the bytes are not an archive.
 */
export function parsePrelude(
  buf: Buffer,
  what: string,
): { namespaces: Namespace[]; end: number } | undefined {
  if (buf.length < 4) return undefined;
  if (buf.readUInt32LE(0) !== ARCHIVE_MAGIC) throw bad(what, 'wrong magic number');
  const namespaces: Namespace[] = [];
  let at = 4;
  let header = true;
  for (;;) {
    if (buf.length < at + 4) return undefined;
    const len = buf.readInt32LE(at);
    if (!header && len === TERMINATOR) return { namespaces, end: at + 4 };
    if (len < 5) throw bad(what, `document length ${len}`);
    if (buf.length < at + len) return undefined;
    if (buf[at + len - 1] !== 0) throw bad(what, 'document does not end with 0x00');
    if (!header) {
      const fields = stringFields(buf, at, len, what);
      const db = fields.get('db');
      const collection = fields.get('collection');
      if (db === undefined || collection === undefined)
        throw bad(what, 'collection metadata without db/collection');
      namespaces.push({ db, collection });
    }
    header = false;
    at += len;
  }
}

/** Reads from `source` until its prelude is complete. */
export async function readPrelude(
  source: AsyncIterable<Uint8Array>,
  what: string,
): Promise<Prelude> {
  const it = source[Symbol.asyncIterator]();
  const close = async () => {
    await it.return?.();
  };
  let buf = Buffer.alloc(0);
  try {
    for (;;) {
      const parsed = parsePrelude(buf, what);
      if (parsed) {
        const head = buf;
        return {
          namespaces: parsed.namespaces,
          close,
          stream: (async function* () {
            try {
              yield head;
              for (;;) {
                const r = await it.next();
                if (r.done === true) return;
                yield r.value;
              }
            } finally {
              await close();
            }
          })(),
        };
      }
      if (buf.length > MAX_PRELUDE)
        throw bad(what, `no end of the prelude within ${MAX_PRELUDE} bytes`);
      const r = await it.next();
      if (r.done === true) throw bad(what, buf.length === 0 ? 'empty' : 'ends inside its prelude');
      buf = Buffer.concat([buf, r.value]);
    }
  } catch (e) {
    await close();
    throw e;
  }
}
