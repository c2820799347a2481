/**
 * Just enough of the zstd frame format (RFC 8878 §3.1) to bound decompression of untrusted
 * data: read or set Frame_Content_Size, and add up the largest size the blocks can decode to.
 * Functions return a string describing the problem instead of throwing, so callers can name
 * the object in their error.
 */
const MAGIC = 0xfd2fb528;
const SKIPPABLE_MASK = 0xfffffff0;
const SKIPPABLE_MAGIC = 0x184d2a50;
const MAX_BLOCK = 128 * 1024;

interface FrameHeader {
  /** Offset of the frame header descriptor byte. */
  fhdAt: number;
  headerEnd: number;
  /** Where Frame_Content_Size would be written (after window and dictionary fields). */
  fcsAt: number;
  contentSize: number | undefined;
  windowSize: number;
  checksum: boolean;
}

function parseHeader(buf: Buffer, at: number): FrameHeader | string {
  if (at + 6 > buf.length) return 'zstd frame header truncated';
  if (buf.readUInt32LE(at) !== MAGIC) return 'not a zstd frame';
  const fhd = buf[at + 4]!;
  if (fhd & 0x08) return 'zstd frame header has the reserved bit set';
  const fcsFlag = fhd >> 6;
  const single = (fhd >> 5) & 1;
  const dictBytes = [0, 1, 2, 4][fhd & 3]!;
  const fcsBytes = [single ? 1 : 0, 2, 4, 8][fcsFlag]!;
  let pos = at + 5;
  let windowSize = 0;
  if (!single) {
    const wd = buf[pos++]!;
    const base = 2 ** (10 + (wd >> 3));
    windowSize = base + (base / 8) * (wd & 7);
  }
  pos += dictBytes;
  const fcsAt = pos;
  if (pos + fcsBytes > buf.length) return 'zstd frame header truncated';
  let contentSize: number | undefined;
  if (fcsBytes === 1) contentSize = buf[pos]!;
  else if (fcsBytes === 2) contentSize = buf.readUInt16LE(pos) + 256;
  else if (fcsBytes === 4) contentSize = buf.readUInt32LE(pos);
  else if (fcsBytes === 8) contentSize = Number(buf.readBigUInt64LE(pos));
  pos += fcsBytes;
  if (single) windowSize = contentSize ?? 0;
  return { fhdAt: at + 4, headerEnd: pos, fcsAt, contentSize, windowSize, checksum: !!(fhd & 4) };
}

/**
 * Returns the data as one frame that declares `size` as its content size: unchanged when it
 * already declares it, with an 8-byte Frame_Content_Size inserted when it declares none.
 */
export function withContentSize(buf: Buffer, size: number): Buffer | string {
  const h = parseHeader(buf, 0);
  if (typeof h === 'string') return h;
  if (h.contentSize !== undefined) {
    return h.contentSize === size ? buf : `zstd frame declares ${h.contentSize} bytes, not ${size}`;
  }
  const out = Buffer.allocUnsafe(buf.length + 8);
  buf.copy(out, 0, 0, h.fcsAt);
  out[h.fhdAt] = buf[h.fhdAt]! | 0xc0; // Frame_Content_Size_flag = 3: eight bytes
  out.writeBigUInt64LE(BigInt(size), h.fcsAt);
  buf.copy(out, h.fcsAt + 8, h.fcsAt);
  return out;
}

/** An upper bound of what all frames in buf decode to, from their headers and blocks. */
export function decodedSizeBound(buf: Buffer): number | string {
  let at = 0;
  let total = 0;
  while (at < buf.length) {
    if (at + 8 <= buf.length && (buf.readUInt32LE(at) & SKIPPABLE_MASK) === SKIPPABLE_MAGIC) {
      at += 8 + buf.readUInt32LE(at + 4);
      continue;
    }
    const h = parseHeader(buf, at);
    if (typeof h === 'string') return h;
    at = h.headerEnd;
    const blockMax = Math.min(h.windowSize || MAX_BLOCK, MAX_BLOCK);
    let frameBound = 0;
    for (let last = false; !last;) {
      if (at + 3 > buf.length) return 'zstd block header truncated';
      const bh = buf[at]! | (buf[at + 1]! << 8) | (buf[at + 2]! << 16);
      at += 3;
      last = (bh & 1) === 1;
      const type = (bh >> 1) & 3;
      const size = bh >>> 3;
      if (type === 3) return 'zstd block of reserved type';
      if (type === 0) {
        frameBound += size;
        at += size;
      } else if (type === 1) {
        frameBound += size;
        at += 1;
      } else {
        frameBound += blockMax;
        at += size;
      }
    }
    if (h.checksum) at += 4;
    if (at > buf.length) return 'zstd frame truncated';
    // A decoder may allocate the declared size up front, so a claim beyond what the blocks
    // can hold is refused, not trusted.
    if (h.contentSize !== undefined && h.contentSize > frameBound) {
      return `zstd frame declares ${h.contentSize} bytes, more than its blocks can hold`;
    }
    total += h.contentSize ?? frameBound;
  }
  return total;
}
