import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LifeboatError } from '../../core/errors.js';
import type { TreeNode } from './node.js';
import { decodeTree, encodeTree } from './tree-json.js';

const ID_A = '5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03';
const ID_B = '295b4d8f8fefbe3c9edbe9fd9e981fd314659000438958d9fa24a342c13d8f29';
const T = '2026-11-21T22:02:21.988597466Z';

// Node objects as restic 0.14 wrote them (captured from `restic cat blob`), one per line.
const RESTIC_NODES = [
  `{"name":"a file","type":"file","mode":8389101,"mtime":"${T}","atime":"${T}","ctime":"2026-11-21T22:02:22.011302773Z","uid":0,"gid":0,"user":"root","group":"root","inode":2171489,"device_id":65024,"size":6,"links":2,"content":["${ID_A}"]}`,
  `{"name":"badlink","type":"symlink","mode":134218239,"mtime":"${T}","atime":"${T}","ctime":"${T}","uid":0,"gid":0,"user":"root","group":"root","inode":2171649,"device_id":65024,"links":1,"linktarget":"tgt\\ufffd\\ufffdA","content":null}`,
  `{"name":"bad\\\\xffname","type":"file","mode":420,"mtime":"${T}","atime":"${T}","ctime":"${T}","uid":0,"gid":0,"user":"root","group":"root","inode":2171633,"device_id":65024,"size":1,"links":1,"content":["${ID_A}"]}`,
  `{"name":"empty","type":"file","mode":420,"mtime":"${T}","atime":"${T}","ctime":"${T}","uid":0,"gid":0,"user":"root","group":"root","inode":2171505,"device_id":65024,"links":1,"content":[]}`,
  `{"name":"emptydir","type":"dir","mode":2148532735,"mtime":"${T}","atime":"${T}","ctime":"${T}","uid":0,"gid":0,"user":"root","group":"root","inode":2171521,"device_id":65024,"content":null,"subtree":"${ID_B}"}`,
  `{"name":"quo\\\\\\"te\\\\\\\\back","type":"file","mode":420,"mtime":"${T}","atime":"${T}","ctime":"${T}","uid":0,"gid":0,"inode":2171665,"device_id":65024,"size":2,"links":1,"content":["${ID_A}"]}`,
  `{"name":"tab\\\\there \\u003c\\u0026\\u003e","type":"fifo","mode":33554852,"mtime":"${T}","atime":"${T}","ctime":"${T}","uid":1000,"gid":1000,"inode":2171681,"device_id":65024,"content":null}`,
];
const RESTIC_TREE = Buffer.from(`{"nodes":[${RESTIC_NODES.join(',')}]}\n`);

function isCode(code: string) {
  return (e: unknown): boolean => e instanceof LifeboatError && e.code === code;
}

const base = (name: string, extra: Partial<TreeNode> = {}): TreeNode => ({
  name,
  type: 'file',
  mode: 420,
  mtime: T,
  atime: T,
  ctime: T,
  uid: 0,
  gid: 0,
  content: [],
  ...extra,
});

test('decodeTree then encodeTree reproduces restic bytes exactly', () => {
  const nodes = decodeTree(RESTIC_TREE, 'fixture');
  assert.equal(nodes.length, RESTIC_NODES.length);
  assert.deepEqual(encodeTree(nodes), RESTIC_TREE);
});

test('decodeTree unquotes names and keeps bytes that are not UTF-8', () => {
  const nodes = decodeTree(RESTIC_TREE);
  assert.deepEqual(
    nodes.map((n) => n.name),
    ['a file', 'badlink', 'bad\ufffdname', 'empty', 'emptydir', 'quo"te\\back', 'tab\there <&>'],
  );
  assert.deepEqual(nodes[2]!.rawName, Buffer.from('bad\xffname', 'latin1'));
  assert.equal(nodes[0]!.rawName, undefined);
  assert.equal(nodes[1]!.linktarget, 'tgt\udcff\udcffA');
  assert.deepEqual(nodes[0], {
    ...base('a file'),
    mode: 8389101,
    ctime: '2026-11-21T22:02:22.011302773Z',
    user: 'root',
    group: 'root',
    inode: 2171489,
    device_id: 65024,
    size: 6,
    links: 2,
    content: [ID_A],
  });
  assert.equal(nodes[4]!.subtree, ID_B);
  assert.equal(nodes[4]!.content, null);
  assert.equal(nodes[6]!.user, undefined);
});

test('encodeTree follows Go omitempty rules and field order', () => {
  const out = encodeTree([
    base('z', { mode: 0, user: '', inode: 0, size: 0, links: 0, content: null, type: 'socket' }),
  ]).toString();
  assert.equal(
    out,
    `{"nodes":[{"name":"z","type":"socket","mtime":"${T}","atime":"${T}","ctime":"${T}","uid":0,"gid":0,"content":null}]}\n`,
  );
  const full = encodeTree([
    base('d', {
      type: 'chardev',
      user: 'u',
      group: 'g',
      inode: 1,
      device_id: 2,
      size: 3,
      links: 4,
      linktarget: 'l',
      extended_attributes: [{ name: 'user.k', value: 'dg==' }],
      device: 5,
      content: null,
      subtree: ID_B,
      error: 'e',
    }),
  ]).toString();
  const keys = [...full.matchAll(/"([a-z_]+)":/g)].map((m) => m[1]).slice(1);
  assert.deepEqual(keys, [
    'name',
    'type',
    'mode',
    'mtime',
    'atime',
    'ctime',
    'uid',
    'gid',
    'user',
    'group',
    'inode',
    'device_id',
    'size',
    'links',
    'linktarget',
    'extended_attributes',
    'name',
    'value',
    'device',
    'content',
    'subtree',
    'error',
  ]);
  assert.ok(!encodeTree([base('x', { extended_attributes: [] })]).includes('extended'));
});

test('encodeTree writes an empty tree and big integers like Go', () => {
  assert.equal(encodeTree([]).toString(), '{"nodes":[]}\n');
  const big = encodeTree([base('x', { inode: 2 ** 60 })]).toString();
  assert.match(big, /"inode":1152921504606846976,/);
});

test('encodeTree requires nodes sorted by UTF-8 bytes, without duplicates', () => {
  // U+FF61 sorts before U+1F600 as UTF-8 bytes but after it as UTF-16 code units.
  const a = base('\uff61');
  const b = base('\u{1f600}');
  assert.doesNotThrow(() => encodeTree([a, b]));
  assert.throws(() => encodeTree([b, a]), isCode('INTERNAL'));
  assert.throws(() => encodeTree([a, a]), isCode('INTERNAL'));
  assert.throws(() => encodeTree([base('')]), isCode('INTERNAL'));
  assert.throws(() => encodeTree([base('x', { content: ['nothex'] })]), isCode('INTERNAL'));
  assert.throws(() => encodeTree([base('x', { uid: -1 })]), isCode('INTERNAL'));
  const raw = base('\ufffd', { rawName: Buffer.from([0xff]) });
  assert.doesNotThrow(() => encodeTree([b, raw])); // F0 < FF
  assert.throws(() => encodeTree([raw, b]), isCode('INTERNAL'));
});

test('decodeTree accepts null nodes, ignores unknown fields, normalises ids', () => {
  assert.deepEqual(decodeTree(Buffer.from('{"nodes":null}')), []);
  const upper = ID_A.toUpperCase();
  const nodes = decodeTree(
    Buffer.from(
      `{"nodes":[{"name":"x","type":"file","mtime":"${T}","atime":"${T}","ctime":"${T}","uid":0,"gid":0,"content":["${upper}"],"future":{"a":1}}],"extra":1}`,
    ),
  );
  assert.deepEqual(nodes, [base('x', { mode: 0, content: [ID_A] })]);
});

const node = (fields: string): string =>
  `{"nodes":[{"name":"n","type":"file","mtime":"${T}","atime":"${T}","ctime":"${T}","uid":0,"gid":0,"content":null${fields}}]}`;

test('decodeTree rejects hostile or broken trees with INTEGRITY naming tree and node', () => {
  const cases: [string, RegExp][] = [
    ['not json', /not valid JSON/],
    ['[1]', /not a JSON object/],
    ['{"nodes":{}}', /no "nodes" array/],
    ['{"nodes":[1]}', /node 0 is not an object/],
    [node('').replace('"n"', '".."'), /relative path component/],
    [node('').replace('"n"', '"."'), /relative path component/],
    [node('').replace('"n"', '""'), /is empty/],
    [node('').replace('"n"', '"a/b"'), /contains "\/"/],
    [node('').replace('"n"', '"/etc"'), /contains "\/"/],
    [node('').replace('"n"', '"a\\\\x00b"'), /contains NUL/],
    [node('').replace('"n"', '"a\\u0000b"'), /contains NUL/],
    [node('').replace('"n"', '"\\\\x2e\\\\x2e"'), /relative path component/],
    [node('').replace('"n"', '"\\\\x2f"'), /contains "\/"/],
    [node('').replace('"n"', '"bad\\\\q"'), /not a valid quoted string/],
    [node('').replace('"name":"n",', ''), /name missing/],
    [node('').replace('"file"', '"door"'), /node "n": unknown type "door"/],
    [node('').replace('"file"', '"dir"'), /directory without subtree/],
    [node(',"subtree":"abc"'), /subtree is not an id/],
    [node('').replace('"content":null', '"content":["xyz"]'), /content\[0\] is not an id/],
    [node('').replace('"content":null', '"content":"x"'), /content is not an array/],
    [node(',"size":-1'), /size is not an unsigned integer/],
    [node(',"size":1.5'), /size is not an unsigned integer/],
    [node(',"size":"12"'), /size is not an unsigned integer/],
    [node('').replace('"uid":0', '"uid":4294967296'), /uid is not an unsigned integer/],
    [node(',"user":5'), /user is not a string/],
    [node('').replace(`"mtime":"${T}"`, '"mtime":"yesterday"'), /mtime is not an RFC 3339/],
    [node(',"extended_attributes":[{"name":"a","value":"!!"}]'), /no base64 value/],
    [node(',"extended_attributes":{}'), /extended_attributes is not an array/],
  ];
  for (const [json, re] of cases) {
    assert.throws(
      () => decodeTree(Buffer.from(json), 'abc123'),
      (e: unknown) =>
        e instanceof LifeboatError &&
        e.code === 'INTEGRITY' &&
        e.message.includes('tree abc123') &&
        re.test(e.message),
      json,
    );
  }
});

test('decodeTree rejects unsorted and duplicate names', () => {
  const two = (a: string, b: string): Buffer =>
    Buffer.from(
      `{"nodes":[${[a, b]
        .map(
          (n) =>
            `{"name":"${n}","type":"file","mtime":"${T}","atime":"${T}","ctime":"${T}","uid":0,"gid":0,"content":null}`,
        )
        .join(',')}]}`,
    );
  assert.equal(decodeTree(two('a', 'b')).length, 2);
  assert.throws(() => decodeTree(two('b', 'a'), 't'), /node "a" is out of order or a duplicate/);
  assert.throws(() => decodeTree(two('a', 'a'), 't'), isCode('INTEGRITY'));
});

test('decodeTree defaults missing fields to Go zero values', () => {
  const [n] = decodeTree(Buffer.from('{"nodes":[{"name":"x","type":"fifo"}]}'));
  assert.deepEqual(n, {
    name: 'x',
    type: 'fifo',
    mode: 0,
    mtime: '0001-01-01T00:00:00Z',
    atime: '0001-01-01T00:00:00Z',
    ctime: '0001-01-01T00:00:00Z',
    uid: 0,
    gid: 0,
    content: null,
  });
});

test('a literal U+FFFD and an escaped one survive a round trip distinctly', () => {
  // Go writes a byte that is not UTF-8 as \ufffd but a real U+FFFD raw; `\\ufffd` is text.
  const json = `{"nodes":[{"name":"n","type":"symlink","mtime":"${T}","atime":"${T}","ctime":"${T}","uid":0,"gid":0,"linktarget":"a\ufffdb\\ufffdc\\\\ufffd","content":null}]}\n`;
  const nodes = decodeTree(Buffer.from(json));
  assert.equal(nodes[0]!.linktarget, 'a\ufffdb\udcffc\\ufffd');
  assert.equal(encodeTree(nodes).toString(), json);
});
