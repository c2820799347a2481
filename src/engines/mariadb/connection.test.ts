import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { classifyMariadb, findTool, parseBatch, quoteIdent, sqlString } from './connection.js';

test('connection and login failures are UNREACHABLE, SQL errors are not', () => {
  const unreachable = [
    "ERROR 2003 (HY000): Can't connect to MySQL server on '127.0.0.1' (111)",
    "ERROR 2002 (HY000): Can't connect to local server through socket '/x' (2)",
    "ERROR 1045 (28000): Access denied for user 'app'@'localhost' (using password: YES)",
    "mariadb-dump: Got error: 2003: \"Can't connect to server on '127.0.0.1' (111)\" when trying to connect",
    'mariadb-dump: Error 2013: Lost connection to server during query when dumping table `t` at row: 5',
  ];
  for (const s of unreachable) assert.equal(classifyMariadb(s), 'UNREACHABLE', s);
  assert.equal(
    classifyMariadb(
      "ERROR 1064 (42000) at line 3: You have an error in your SQL syntax near '2003'",
    ),
    undefined,
  );
  assert.equal(classifyMariadb("ERROR 1049 (42000): Unknown database 'x'"), undefined);
});

test('batch output is split into rows and unescaped', () => {
  assert.deepEqual(parseBatch('a\tb\\tc\nx\\\\y\tline\\nbreak\n\n'), [
    ['a', 'b\tc'],
    ['x\\y', 'line\nbreak'],
  ]);
});

test('quoting: identifiers double backquotes, strings escape quote, backslash and newline', () => {
  assert.equal(quoteIdent('a`b'), '`a``b`');
  assert.equal(sqlString("it's a \\ test\n"), "'it\\'s a \\\\ test\\n'");
});

test('findTool prefers the MariaDB name and falls back to the MySQL one', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'lifeboat-findtool-'));
  try {
    assert.equal(
      findTool(['mariadb-dump', 'mysqldump'], dir),
      join(dir, 'mariadb-dump'),
      'neither: the first name',
    );
    await writeFile(join(dir, 'mysqldump'), '#!/bin/sh\n');
    await chmod(join(dir, 'mysqldump'), 0o755);
    assert.equal(findTool(['mariadb-dump', 'mysqldump'], dir), join(dir, 'mysqldump'));
    await writeFile(join(dir, 'mariadb-dump'), '#!/bin/sh\n');
    await chmod(join(dir, 'mariadb-dump'), 0o755);
    assert.equal(findTool(['mariadb-dump', 'mysqldump'], dir), join(dir, 'mariadb-dump'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
