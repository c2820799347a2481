import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isLifeboatError } from '../../core/errors.js';
import { dropScript, partAccounts, selectAccounts, showScript, usersPart } from './users.js';

const ROWS = [
  ['root', 'localhost', 'N'],
  ['mariadb.sys', 'localhost', 'N'],
  ['zed', '%', 'N'],
  ['app', '10.0.0.%', 'N'],
  ['', 'localhost', 'N'],
  ['reader', '', 'Y'],
  ["o'brien", 'localhost', 'N'],
];

test('built-in accounts are left out; roles come first, then users, sorted', () => {
  assert.deepEqual(selectAccounts(ROWS), [
    { user: 'reader', host: '', role: true },
    { user: 'app', host: '10.0.0.%', role: false },
    { user: "o'brien", host: 'localhost', role: false },
    { user: 'zed', host: '%', role: false },
  ]);
});

test('the SHOW script quotes account names it got from the server', () => {
  const script = showScript(selectAccounts(ROWS), 'mariadb');
  assert.match(script, /^SET SESSION sql_mode = '';$/m);
  assert.match(script, /^SHOW GRANTS FOR 'reader';$/m);
  assert.doesNotMatch(script, /SHOW CREATE USER 'reader'/);
  assert.match(script, /^SHOW CREATE USER 'o\\'brien'@'localhost';$/m);
  assert.doesNotMatch(showScript([], 'mariadb'), /print_identified_with_as_hex/);
  assert.match(showScript([], 'mysql'), /print_identified_with_as_hex = ON/);
});

test('the part creates roles, then users, then grants, and lists its accounts', () => {
  const accounts = selectAccounts(ROWS);
  const text = usersPart(accounts, [
    "CREATE USER `app`@`10.0.0.%` IDENTIFIED BY PASSWORD '*AA'",
    'GRANT `reader` TO `app`@`10.0.0.%`',
    "CREATE USER `zed`@`%` IDENTIFIED BY PASSWORD '*BB'",
    'GRANT SELECT ON `app`.* TO `reader`;',
  ]);
  const statements = text.split('\n').filter((l) => l !== '' && !l.startsWith('--'));
  assert.deepEqual(statements, [
    'CREATE ROLE `reader`;',
    "CREATE USER `app`@`10.0.0.%` IDENTIFIED BY PASSWORD '*AA';",
    "CREATE USER `zed`@`%` IDENTIFIED BY PASSWORD '*BB';",
    'GRANT `reader` TO `app`@`10.0.0.%`;',
    'GRANT SELECT ON `app`.* TO `reader`;',
  ]);
  assert.deepEqual(partAccounts(text), accounts);
});

test('a damaged account line is an integrity error', () => {
  assert.throws(
    () => partAccounts('-- account {"user":1}\n'),
    (e: unknown) => isLifeboatError(e, 'INTEGRITY'),
  );
  assert.throws(
    () => partAccounts('-- account {nope\n'),
    (e: unknown) => isLifeboatError(e, 'INTEGRITY'),
  );
});

test('force drops exactly the part accounts', () => {
  assert.equal(
    dropScript(selectAccounts(ROWS).slice(0, 2)),
    "SET SESSION sql_mode = '';\nDROP ROLE IF EXISTS `reader`;\nDROP USER IF EXISTS 'app'@'10.0.0.%';\n",
  );
});
