/**
 * Go's string encodings that shape restic's tree JSON byte for byte (RESTIC-FORMAT.md,
 * "Trees"): encoding/json string escaping as of Go 1.19, strconv.Quote/Unquote (restic quotes
 * node names before marshalling them), and Go's one-U+FFFD-per-bad-byte UTF-8 decoding.
 */
import { GO_PRINTABLE_RANGES } from './go-printable.js';

const HEX = '0123456789abcdef';

/**
 * Decodes one UTF-8 sequence at `i` with Go's rules (unicode/utf8.DecodeRune): returns the
 * code point and its length, or -1 and length 1 for an invalid or truncated sequence.
 */
export function decodeRune(b: Uint8Array, i: number): [number, number] {
  const b0 = b[i]!;
  if (b0 < 0x80) return [b0, 1];
  const cont = (k: number, lo = 0x80, hi = 0xbf): number => {
    const v = b[i + k];
    return v !== undefined && v >= lo && v <= hi ? v & 0x3f : -1;
  };
  if (b0 >= 0xc2 && b0 <= 0xdf) {
    const c1 = cont(1);
    return c1 < 0 ? [-1, 1] : [((b0 & 0x1f) << 6) | c1, 2];
  }
  if (b0 >= 0xe0 && b0 <= 0xef) {
    // E0 forbids overlongs, ED forbids surrogates.
    const c1 = cont(1, b0 === 0xe0 ? 0xa0 : 0x80, b0 === 0xed ? 0x9f : 0xbf);
    const c2 = c1 < 0 ? -1 : cont(2);
    return c2 < 0 ? [-1, 1] : [((b0 & 0x0f) << 12) | (c1 << 6) | c2, 3];
  }
  if (b0 >= 0xf0 && b0 <= 0xf4) {
    // F0 forbids overlongs, F4 forbids code points above U+10FFFF.
    const c1 = cont(1, b0 === 0xf0 ? 0x90 : 0x80, b0 === 0xf4 ? 0x8f : 0xbf);
    const c2 = c1 < 0 ? -1 : cont(2);
    const c3 = c2 < 0 ? -1 : cont(3);
    return c3 < 0 ? [-1, 1] : [((b0 & 0x07) << 18) | (c1 << 12) | (c2 << 6) | c3, 4];
  }
  return [-1, 1];
}

/**
 * Stands for a byte that is not UTF-8 in a string bound for JSON. Go's encoder writes such a
 * byte as the escape `\ufffd` but a real U+FFFD raw, so the two must stay apart: goJsonString
 * writes this lone surrogate as `\ufffd`, decodeTree turns `\ufffd` escapes back into it, and
 * Node writes it to the file system as EF BF BD, the bytes restic restores.
 */
export const INVALID_BYTE_MARK = '\udcff';

/**
 * Bytes to a string the way Go's encoding/json sees them: every byte that does not start a
 * valid sequence becomes one `replacement` (TextDecoder folds some bad sequences into a single
 * U+FFFD, which would change the JSON restic writes). Use INVALID_BYTE_MARK for strings that
 * will be encoded into trees.
 */
export function goLossyUtf8(b: Uint8Array, replacement = '\ufffd'): string {
  let out = '';
  let start = 0;
  let i = 0;
  while (i < b.length) {
    const [cp, size] = decodeRune(b, i);
    if (cp < 0) {
      out += Buffer.from(b.subarray(start, i)).toString('utf8') + replacement;
      start = i + 1;
    }
    i += size;
  }
  return out + Buffer.from(b.subarray(start)).toString('utf8');
}

/** Go 1.19 strconv.IsPrint: ASCII space to tilde, and Unicode 13 L, M, N, P, S above that. */
export function isGoPrint(cp: number): boolean {
  if (cp < 0x80) return cp >= 0x20 && cp < 0x7f;
  let lo = 0;
  let hi = GO_PRINTABLE_RANGES.length / 2 - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (cp < GO_PRINTABLE_RANGES[2 * mid]!) hi = mid - 1;
    else if (cp > GO_PRINTABLE_RANGES[2 * mid + 1]!) lo = mid + 1;
    else return true;
  }
  return false;
}

const SHORT_ESCAPES: Record<number, string> = {
  0x07: '\\a',
  0x08: '\\b',
  0x0c: '\\f',
  0x0a: '\\n',
  0x0d: '\\r',
  0x09: '\\t',
  0x0b: '\\v',
};

/**
 * strconv.Quote without the surrounding quotes, over raw bytes: restic stores a node name
 * as its Go-quoted form (restic's Node.MarshalJSON) so that names that are not valid UTF-8
 * survive JSON.
 */
export function goQuoteBytes(b: Uint8Array): string {
  let out = '';
  let i = 0;
  while (i < b.length) {
    const [cp, size] = decodeRune(b, i);
    if (cp < 0) {
      out += '\\x' + HEX[b[i]! >> 4]! + HEX[b[i]! & 15]!;
    } else if (cp === 0x22 || cp === 0x5c) {
      out += '\\' + String.fromCharCode(cp);
    } else if (isGoPrint(cp)) {
      out += String.fromCodePoint(cp);
    } else if (SHORT_ESCAPES[cp] !== undefined) {
      out += SHORT_ESCAPES[cp];
    } else if (cp < 0x20 || cp === 0x7f) {
      out += '\\x' + HEX[cp >> 4]! + HEX[cp & 15]!;
    } else if (cp < 0x10000) {
      out += '\\u' + cp.toString(16).padStart(4, '0');
    } else {
      out += '\\U' + cp.toString(16).padStart(8, '0');
    }
    i += size;
  }
  return out;
}

const UNQUOTE_SIMPLE: Record<string, number> = {
  a: 0x07,
  b: 0x08,
  f: 0x0c,
  n: 0x0a,
  r: 0x0d,
  t: 0x09,
  v: 0x0b,
  '\\': 0x5c,
  '"': 0x22,
};

/**
 * strconv.Unquote of `"` + s + `"` (restic's Node.UnmarshalJSON), producing raw bytes.
 * Returns null where Go would report a syntax error.
 */
export function goUnquoteToBytes(s: string): Buffer | null {
  const out: number[] = [];
  const src = Buffer.from(s, 'utf8');
  let i = 0;
  const hexAt = (start: number, n: number): number => {
    if (start + n > src.length) return -1;
    const text = src.subarray(start, start + n).toString('latin1');
    return /^[0-9a-fA-F]+$/.test(text) ? parseInt(text, 16) : -1;
  };
  while (i < src.length) {
    const c = src[i]!;
    if (c === 0x22 || c === 0x0a) return null; // an unescaped quote or newline ends Go's literal
    if (c !== 0x5c) {
      out.push(c);
      i++;
      continue;
    }
    const e = src[i + 1];
    if (e === undefined) return null;
    const simple = UNQUOTE_SIMPLE[String.fromCharCode(e)];
    if (simple !== undefined) {
      out.push(simple);
      i += 2;
    } else if (e === 0x78 /* x */) {
      const v = hexAt(i + 2, 2);
      if (v < 0) return null;
      out.push(v);
      i += 4;
    } else if (e === 0x75 /* u */ || e === 0x55 /* U */) {
      const n = e === 0x75 ? 4 : 8;
      const v = hexAt(i + 2, n);
      if (v < 0 || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) return null;
      out.push(...Buffer.from(String.fromCodePoint(v), 'utf8'));
      i += 2 + n;
    } else if (e >= 0x30 && e <= 0x37) {
      const text = src.subarray(i + 1, i + 4).toString('latin1');
      if (!/^[0-7]{3}$/.test(text)) return null;
      const v = parseInt(text, 8);
      if (v > 255) return null;
      out.push(v);
      i += 4;
    } else {
      return null;
    }
  }
  return Buffer.from(out);
}

/** True when `s` has a UTF-16 surrogate without its partner, which no Go string can hold. */
export function hasLoneSurrogate(s: string): boolean {
  return /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(s);
}

/**
 * A JSON string literal, quotes included, exactly as Go 1.19's encoding/json writes it with
 * HTML escaping on (json.Marshal's default): `<`, `>`, `&`, U+2028, U+2029 and control
 * characters other than \n, \r, \t become \u00XX / \u20XX (\b and \f only got short forms in
 * Go 1.22); DEL stays raw. A lone surrogate (see INVALID_BYTE_MARK) becomes \ufffd, as Go
 * writes a byte that is not UTF-8.
 */
export function goJsonString(s: string): string {
  let out = '"';
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    let esc: string | undefined;
    if (c < 0x20 || c === 0x22 || c === 0x5c || c === 0x3c || c === 0x3e || c === 0x26) {
      if (c === 0x22) esc = '\\"';
      else if (c === 0x5c) esc = '\\\\';
      else if (c === 0x0a) esc = '\\n';
      else if (c === 0x0d) esc = '\\r';
      else if (c === 0x09) esc = '\\t';
      else esc = '\\u00' + HEX[c >> 4]! + HEX[c & 15]!;
    } else if (c === 0x2028 || c === 0x2029) {
      esc = '\\u' + c.toString(16);
    } else if (c >= 0xd800 && c <= 0xdfff) {
      const next = s.charCodeAt(i + 1);
      if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        i++; // a valid pair: copy both halves unchanged
        continue;
      }
      esc = '\\ufffd';
    }
    if (esc !== undefined) {
      out += s.slice(start, i) + esc;
      start = i + 1;
    }
  }
  return out + s.slice(start) + '"';
}
