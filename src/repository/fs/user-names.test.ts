import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { lookupGroupName, lookupUserName, parseAccountFile } from './user-names.js';

test('parseAccountFile reads passwd lines like Go os/user', () => {
  const text = [
    '# comment',
    '',
    'root:x:0:0:root:/root:/bin/bash',
    '+nis:x:5:5::/:/bin/sh',
    'short:x:7',
    'alice:x:1000:1000:Alice:/home/alice:/bin/sh',
    'alias:x:1000:1000::/:/bin/sh',
    'weird:x:abc:1::/:/bin/sh',
  ].join('\n');
  const users = parseAccountFile(text, 6);
  assert.deepEqual(
    [...users],
    [
      [0, 'root'],
      [1000, 'alice'],
    ],
  );
});

test('parseAccountFile reads group lines', () => {
  const groups = parseAccountFile('wheel:x:10:alice,bob\nstaff:x:50:\n-bad:x:60:\n', 4);
  assert.deepEqual(
    [...groups],
    [
      [10, 'wheel'],
      [50, 'staff'],
    ],
  );
});

test('lookups agree with /etc/passwd and /etc/group and return "" for unknown ids', async () => {
  const passwd = parseAccountFile(readFileSync('/etc/passwd', 'utf8'), 6);
  const [uid, name] = [...passwd][0]!;
  assert.equal(await lookupUserName(uid), name);
  assert.equal(await lookupUserName(3_999_999_999), '');
  const group = parseAccountFile(readFileSync('/etc/group', 'utf8'), 4);
  const [gid, gname] = [...group][0]!;
  assert.equal(await lookupGroupName(gid), gname);
  assert.equal(await lookupGroupName(3_999_999_999), '');
});
