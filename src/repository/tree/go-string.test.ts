import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import {
  decodeRune,
  goJsonString,
  goLossyUtf8,
  goQuoteBytes,
  goUnquoteToBytes,
  hasLoneSurrogate,
  INVALID_BYTE_MARK,
  isGoPrint,
} from './go-string.js';
import { GO_PRINTABLE_RANGES } from './go-printable.js';

const q = (s: string | number[]): string =>
  goQuoteBytes(typeof s === 'string' ? Buffer.from(s, 'utf8') : Buffer.from(s));

test('goJsonString escapes like Go 1.19 encoding/json with HTML escaping', () => {
  assert.equal(goJsonString('a <b> & c'), '"a \\u003cb\\u003e \\u0026 c"');
  assert.equal(goJsonString('q"b\\'), '"q\\"b\\\\"');
  assert.equal(goJsonString('\n\r\t'), '"\\n\\r\\t"');
  // \b and \f only got short escapes in Go 1.22; restic 0.14 is built with Go 1.19.
  assert.equal(goJsonString('\b\f\x00\x1f'), '"\\u0008\\u000c\\u0000\\u001f"');
  assert.equal(goJsonString('\x7f'), '"\x7f"');
  assert.equal(goJsonString('\u2028\u2029'), '"\\u2028\\u2029"');
  assert.equal(goJsonString('é😀\ufffd'), '"é😀\ufffd"');
  assert.equal(goJsonString(`a${INVALID_BYTE_MARK}b\ud800`), '"a\\ufffdb\\ufffd"');
});

test('goQuoteBytes quotes like strconv.Quote (without the quotes)', () => {
  assert.equal(q('plain name.txt'), 'plain name.txt');
  assert.equal(q('<&>'), '<&>');
  assert.equal(q('q"b\\'), 'q\\"b\\\\');
  assert.equal(q('\x07\b\f\n\r\t\v'), '\\a\\b\\f\\n\\r\\t\\v');
  assert.equal(q('\x00\x01\x1b\x7f'), '\\x00\\x01\\x1b\\x7f');
  assert.equal(q([0x61, 0xff, 0xc3]), 'a\\xff\\xc3');
  assert.equal(q([0xe2, 0x82, 0x41]), '\\xe2\\x82A');
  assert.equal(q('ünï 日本 😀'), 'ünï 日本 😀');
  assert.equal(q('\u00a0\u00ad\u200b\u2028'), '\\u00a0\\u00ad\\u200b\\u2028');
  assert.equal(q('\u{e0001}'), '\\U000e0001');
  // Added in Unicode 14, after Go 1.19's tables: Go escapes them, Node's ICU would not.
  assert.equal(q('\u{1fae0}'), '\\U0001fae0');
  assert.equal(q('\u08c8'), '\\u08c8');
});

test('goUnquoteToBytes inverts goQuoteBytes for arbitrary bytes', () => {
  for (let i = 0; i < 300; i++) {
    const b = randomBytes(1 + (i % 40));
    assert.deepEqual(goUnquoteToBytes(goQuoteBytes(b)), b);
  }
  assert.deepEqual(goUnquoteToBytes('\\101\\x41\\u0041\\U00000041'), Buffer.from('AAAA'));
  assert.deepEqual(goUnquoteToBytes('\\u00e9'), Buffer.from('é'));
});

test('goUnquoteToBytes rejects what strconv.Unquote rejects', () => {
  for (const bad of [
    'a\\',
    "\\'",
    '\\q',
    'a"b',
    'a\nb',
    '\\ud800',
    '\\400',
    '\\x4',
    '\\U00110000',
  ]) {
    assert.equal(goUnquoteToBytes(bad), null, JSON.stringify(bad));
  }
});

test('goLossyUtf8 replaces each bad byte separately, like Go', () => {
  const b = Buffer.from([0x74, 0xe2, 0x82, 0x41, 0xff, 0xed, 0xa0, 0x80]);
  assert.equal(goLossyUtf8(b), 't\ufffd\ufffdA\ufffd\ufffd\ufffd\ufffd');
  // TextDecoder would fold E2 82 into one replacement: the difference this function exists for.
  assert.notEqual(new TextDecoder().decode(b), goLossyUtf8(b));
  assert.equal(goLossyUtf8(Buffer.from([0x61, 0x80]), INVALID_BYTE_MARK), `a${INVALID_BYTE_MARK}`);
  assert.equal(goLossyUtf8(Buffer.from('ok 😀')), 'ok 😀');
});

test('decodeRune follows Go on overlongs, surrogates and the upper limit', () => {
  assert.deepEqual(decodeRune(Buffer.from([0xc0, 0x80]), 0), [-1, 1]);
  assert.deepEqual(decodeRune(Buffer.from([0xe0, 0x80, 0x80]), 0), [-1, 1]);
  assert.deepEqual(decodeRune(Buffer.from([0xed, 0xa0, 0x80]), 0), [-1, 1]);
  assert.deepEqual(decodeRune(Buffer.from([0xf4, 0x90, 0x80, 0x80]), 0), [-1, 1]);
  assert.deepEqual(decodeRune(Buffer.from('😀'), 0), [0x1f600, 4]);
});

test('the Go 1.19 printable table is sorted and a subset of current Unicode L/M/N/P/S', () => {
  const re = /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u;
  let prev = 0x7f;
  for (let i = 0; i < GO_PRINTABLE_RANGES.length; i += 2) {
    const first = GO_PRINTABLE_RANGES[i]!;
    const last = GO_PRINTABLE_RANGES[i + 1]!;
    assert.ok(first > prev + 1 && last >= first, `range ${i / 2}`);
    prev = last;
    for (let cp = first; cp <= last; cp++) {
      assert.ok(re.test(String.fromCodePoint(cp)), `U+${cp.toString(16)}`);
    }
  }
  assert.ok(isGoPrint(0x20) && isGoPrint(0x7e) && !isGoPrint(0x7f) && !isGoPrint(0x1f));
  assert.ok(isGoPrint(0xe9) && !isGoPrint(0xa0) && !isGoPrint(0x1fae0));
});

test('hasLoneSurrogate', () => {
  assert.equal(hasLoneSurrogate('😀'), false);
  assert.equal(hasLoneSurrogate('a\ud83d'), true);
  assert.equal(hasLoneSurrogate('\ude00b'), true);
});
