/**
 * Restore-time batching of single-row INSERTs.
 *
 * Dumps are written with one INSERT per row (`--skip-extended-insert`): mariadb-dump packs
 * extended INSERTs up to a byte limit, so one row that grows shifts every later statement
 * boundary of its table and the chunker stores nearly the whole dump again (measured on a
 * 49 MB table: one row grown by 150 bytes → 95 % new data with extended inserts, 1.2 % with one
 * row per line). Replaying one statement per row is 5–9x slower, though (24 MB table: 32 s
 * instead of 5.6 s), so on restore consecutive single-row INSERTs into the same table are
 * joined into multi-row statements again, up to `maxStatement` bytes: the statements
 * mariadb-dump would have written.
 *
 * Works on bytes, line by line. Only lines of the form "INSERT INTO `t` VALUES (…);" (with or
 * without a column list) outside a DELIMITER block (routine, trigger and event bodies) are
 * joined; every other line passes through unchanged, and a stock `mariadb < part` restore of
 * the stored part stays valid.
 */

const INSERT_HEAD = Buffer.from('INSERT INTO `');
const VALUES = Buffer.from(' VALUES (');
const COLUMNS_OPEN = Buffer.from(' (`');
const COLUMNS_NEXT = Buffer.from(', `');
const DELIMITER = /^delimiter\s+(\S+)/i;
const COMMA = Buffer.from(',');
const END = Buffer.from(';\n');
const NEWLINE = Buffer.from('\n');
const NL = 0x0a;
const BACKQUOTE = 0x60;

/** Index just past the backquoted identifier whose opening quote was at `open - 1`, or -1. */
function identifierEnd(line: Buffer, open: number): number {
  for (let i = open; ;) {
    const q = line.indexOf(BACKQUOTE, i);
    if (q < 0) return -1;
    if (line[q + 1] !== BACKQUOTE) return q + 1;
    i = q + 2; // a doubled backquote inside the name
  }
}

function startsAt(line: Buffer, at: number, text: Buffer): boolean {
  return line.subarray(at, at + text.length).equals(text);
}

/**
 * Length of "INSERT INTO `t` VALUES " (or "INSERT INTO `t` (`a`, `b`) VALUES ", which
 * mariadb-dump writes for tables with generated or invisible columns) when `line` is a
 * single-row insert ending in ");", else 0. Names are read as identifiers (doubled backquotes
 * inside), so a name that itself contains "` VALUES (" cannot mislead the split.
 */
export function insertPrefixLength(line: Buffer): number {
  if (line.length < INSERT_HEAD.length + VALUES.length + 3) return 0;
  if (!startsAt(line, 0, INSERT_HEAD)) return 0;
  if (line[line.length - 2] !== 0x29 || line[line.length - 1] !== 0x3b) return 0; // ");"
  let i = identifierEnd(line, INSERT_HEAD.length);
  if (i < 0) return 0;
  if (startsAt(line, i, COLUMNS_OPEN)) {
    i += COLUMNS_OPEN.length;
    for (;;) {
      i = identifierEnd(line, i);
      if (i < 0) return 0;
      if (startsAt(line, i, COLUMNS_NEXT)) i += COLUMNS_NEXT.length;
      else if (line[i] === 0x29)
        break; // ")"
      else return 0;
    }
    i += 1;
  }
  if (!startsAt(line, i, VALUES)) return 0;
  return i + VALUES.length - 1; // the row starts at "("
}

/** Re-batches a dump stream; see the file comment. Output bytes are fresh buffers. */
export async function* batchInserts(
  source: AsyncIterable<Uint8Array>,
  maxStatement = 1 << 20,
): AsyncGenerator<Buffer> {
  let delimiter = ';';
  let partial: Buffer[] = [];
  let prefix: Buffer | undefined;
  let rows: Buffer[] = [];
  let batchSize = 0;
  let out: Buffer[] = [];
  let outSize = 0;

  const emit = (...bufs: Buffer[]) => {
    for (const b of bufs) {
      out.push(b);
      outSize += b.length;
    }
  };
  const flushBatch = () => {
    if (prefix === undefined) return;
    emit(prefix);
    rows.forEach((row, n) => (n === 0 ? emit(row) : emit(COMMA, row)));
    emit(END);
    prefix = undefined;
    rows = [];
    batchSize = 0;
  };
  const line = (text: Buffer) => {
    const p = delimiter === ';' ? insertPrefixLength(text) : 0;
    if (p > 0) {
      const head = text.subarray(0, p);
      const row = text.subarray(p, text.length - 1); // "(…)" without ";"
      if (
        prefix !== undefined &&
        (!prefix.equals(head) || batchSize + row.length + 1 > maxStatement)
      ) {
        flushBatch();
      }
      if (prefix === undefined) {
        prefix = Buffer.from(head);
        batchSize = head.length;
      }
      rows.push(row);
      batchSize += row.length + 1;
      return;
    }
    flushBatch();
    if (text.length < 64) {
      const m = DELIMITER.exec(text.toString('latin1'));
      if (m?.[1] !== undefined) delimiter = m[1];
    }
    emit(text, NEWLINE);
  };
  const take = (): Buffer => {
    const b = Buffer.concat(out, outSize);
    out = [];
    outSize = 0;
    return b;
  };

  for await (const chunk of source) {
    const buf = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
    let start = 0;
    for (let nl = buf.indexOf(NL, start); nl >= 0; nl = buf.indexOf(NL, start)) {
      const piece = buf.subarray(start, nl);
      // Copy: rows are kept past this chunk, and producers may reuse their buffers.
      line(partial.length === 0 ? Buffer.from(piece) : Buffer.concat([...partial, piece]));
      partial = [];
      start = nl + 1;
    }
    if (start < buf.length) partial.push(Buffer.from(buf.subarray(start)));
    if (outSize >= 1 << 16) yield take();
  }
  if (partial.length > 0) {
    // A last line without "\n" passes through as it is.
    flushBatch();
    emit(Buffer.concat(partial));
  }
  flushBatch();
  if (outSize > 0) yield take();
}
