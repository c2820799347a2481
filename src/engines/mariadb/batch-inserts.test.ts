import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { batchInserts, insertPrefixLength } from './batch-inserts.js';

async function run(text: string | Buffer, pieceSize = 7, max = 1 << 20): Promise<string> {
  const data = Buffer.isBuffer(text) ? text : Buffer.from(text);
  const pieces = Readable.from(
    Array.from({ length: Math.ceil(data.length / pieceSize) }, (_, i) =>
      data.subarray(i * pieceSize, (i + 1) * pieceSize),
    ),
  );
  const out: Buffer[] = [];
  for await (const c of batchInserts(pieces, max)) out.push(c);
  return Buffer.concat(out).toString();
}

test('insertPrefixLength finds the row of a single-row insert only', () => {
  const line = (s: string) => insertPrefixLength(Buffer.from(s));
  assert.equal(line("INSERT INTO `t` VALUES (1,'a');"), 'INSERT INTO `t` VALUES '.length);
  assert.equal(line('INSERT INTO `a``b` VALUES (1);'), 'INSERT INTO `a``b` VALUES '.length);
  // A table name containing "` VALUES (" is read as a name, not as the split point.
  const tricky = 'INSERT INTO `x`` VALUES (9` VALUES (1);';
  assert.equal(line(tricky), 'INSERT INTO `x`` VALUES (9` VALUES '.length);
  // Tables with generated or invisible columns are dumped with a column list.
  const listed = 'INSERT INTO `t` (`a`, `b``c`) VALUES ';
  assert.equal(line(`${listed}(1,2);`), listed.length);
  assert.equal(line('INSERT INTO `t` (`a` `b`) VALUES (1);'), 0);
  assert.equal(line('INSERT INTO `t` (a) VALUES (1);'), 0);
  assert.equal(line('INSERT INTO `t` VALUES (1)'), 0, 'no ";"');
  assert.equal(line('insert into `t` values (1);'), 0);
  assert.equal(line('REPLACE INTO `t` VALUES (1);'), 0);
});

test('consecutive rows of one table become one statement; other lines pass through', async () => {
  const dump = [
    '/*M!999999\\- enable the sandbox mode */ ',
    'LOCK TABLES `t` WRITE;',
    "INSERT INTO `t` VALUES (1,'a;b');",
    "INSERT INTO `t` VALUES (2,'c),(d');",
    'INSERT INTO `u` VALUES (3);',
    'INSERT INTO `u` VALUES (4);',
    'INSERT INTO `g` (`a`, `b`) VALUES (5,10);',
    'INSERT INTO `g` (`a`, `b`) VALUES (6,12);',
    'INSERT INTO `g` (`a`) VALUES (7);',
    'UNLOCK TABLES;',
    'INSERT INTO `t` VALUES (5);',
    '',
  ].join('\n');
  assert.equal(
    await run(dump),
    [
      '/*M!999999\\- enable the sandbox mode */ ',
      'LOCK TABLES `t` WRITE;',
      "INSERT INTO `t` VALUES (1,'a;b'),(2,'c),(d');",
      'INSERT INTO `u` VALUES (3),(4);',
      'INSERT INTO `g` (`a`, `b`) VALUES (5,10),(6,12);',
      'INSERT INTO `g` (`a`) VALUES (7);',
      'UNLOCK TABLES;',
      'INSERT INTO `t` VALUES (5);',
      '',
    ].join('\n'),
  );
});

test('lines inside DELIMITER blocks (trigger and routine bodies) are never joined', async () => {
  const dump = [
    'DELIMITER ;;',
    'INSERT INTO `t` VALUES (1);',
    'INSERT INTO `t` VALUES (2);',
    'DELIMITER ;',
    'INSERT INTO `t` VALUES (3);',
    'INSERT INTO `t` VALUES (4);',
    '',
  ].join('\n');
  assert.equal(
    await run(dump),
    [
      'DELIMITER ;;',
      'INSERT INTO `t` VALUES (1);',
      'INSERT INTO `t` VALUES (2);',
      'DELIMITER ;',
      'INSERT INTO `t` VALUES (3),(4);',
      '',
    ].join('\n'),
  );
});

test('statements stay under the size limit; a row larger than it goes alone', async () => {
  const rows = Array.from(
    { length: 10 },
    (_, i) => `INSERT INTO \`t\` VALUES (${i},'xxxxxxxxxx');`,
  );
  const out = await run(
    `${rows.join('\n')}\nINSERT INTO \`t\` VALUES ('${'y'.repeat(200)}');\n`,
    5,
    80,
  );
  const lines = out.trimEnd().split('\n');
  assert.ok(lines.length > 2, 'split into several statements');
  for (const l of lines.slice(0, -1)) assert.ok(l.length <= 80, `${l.length} bytes`);
  assert.equal(lines.at(-1), `INSERT INTO \`t\` VALUES ('${'y'.repeat(200)}');`);
  // Every row arrives exactly once, in order.
  assert.deepEqual(
    [...out.matchAll(/\((\d+),/g)].map((m) => Number(m[1])),
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
  );
});

test('bytes that are not UTF-8 and a last line without a newline survive unchanged', async () => {
  const binary = Buffer.concat([
    Buffer.from("INSERT INTO `t` VALUES ('"),
    Buffer.from([0xff, 0xfe, 0x00, 0x80]),
    Buffer.from("');\nINSERT INTO `t` VALUES (2);\n-- end"),
  ]);
  const out: Buffer[] = [];
  for await (const c of batchInserts(Readable.from([binary]))) out.push(c);
  assert.deepEqual(
    Buffer.concat(out),
    Buffer.concat([
      Buffer.from("INSERT INTO `t` VALUES ('"),
      Buffer.from([0xff, 0xfe, 0x00, 0x80]),
      Buffer.from("'),(2);\n-- end"),
    ]),
  );
});
