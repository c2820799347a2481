/**
 * The MariaDB target against a stand-in `mariadb` client that records its calls and stdin:
 * part names are checked before anything runs, a non-empty target is refused after the checks
 * alone, and force drops before it restores. The real client runs in test/engines/mariadb.test.ts.
 */
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { fakeTools } from '../../../test/engines/fake-tools.js';
import { isLifeboatError } from '../../core/errors.js';
import type { PartReader } from '../engine.js';
import { createMariadbTarget } from './target.js';
import { usersPart } from './users.js';

/** A client that logs each stdin and answers the catalogue checks with `tables` / `users`. */
function client(tables: string, users: string): string {
  return `sql=$(cat)
printf '%s\\n<<END>>\\n' "$sql" >> "$FAKE/stdin.log"
case "$sql" in
  *information_schema.TABLES*) printf '${tables}' ;;
  *"FROM mysql.user"*) printf '${users}' ;;
esac`;
}

async function stdins(dir: string): Promise<string[]> {
  const text = await readFile(join(dir, 'stdin.log'), 'utf8').catch(() => '');
  return text.split('\n<<END>>\n').filter((s) => s !== '');
}

const USERS = usersPart(
  [{ user: 'app', host: '%', role: false }],
  ['CREATE USER `app`@`%`', 'GRANT SELECT ON `app`.* TO `app`@`%`'],
);

const reader: PartReader = (name) =>
  Readable.from([
    Buffer.from(
      name === 'users.sql'
        ? USERS
        : `CREATE DATABASE \`x\`;\nINSERT INTO \`t\` VALUES (1);\nINSERT INTO \`t\` VALUES (2);\n`,
    ),
  ]);

const target = (binDir: string, force = false) =>
  createMariadbTarget({
    host: '127.0.0.1',
    port: 3307,
    user: 'root',
    password: 'pw',
    binDir,
    force,
  });

test('unknown, duplicate or hostile part names are refused before anything runs', async () => {
  await using fake = await fakeTools({ mariadb: client('', '') });
  for (const parts of [
    ['dump.rdb'],
    ['db-app.sql', 'db-app.sql'],
    ['db-a b.sql'],
    ['db--x.sql'],
    ['db-.sql'],
  ]) {
    await assert.rejects(
      target(fake.dir).restore(parts, reader),
      (e: unknown) => isLifeboatError(e, 'INVALID_ARGUMENT'),
      JSON.stringify(parts),
    );
  }
  assert.deepEqual(await fake.calls(), []);
});

test('a database with tables or an existing account is refused after the checks alone', async () => {
  await using fake = await fakeTools({
    mariadb: client('app\\t3\\n', 'app\\t%%\\nroot\\tlocalhost\\n'),
  });
  await assert.rejects(
    target(fake.dir).restore(['db-app.sql', 'db-shop.sql', 'users.sql'], reader),
    (e: unknown) => {
      assert.ok(isLifeboatError(e, 'TARGET_NOT_EMPTY'));
      assert.match(e.message, /database app has 3 tables; account 'app'@'%' already exists/);
      return true;
    },
  );
  const sent = await stdins(fake.dir);
  assert.equal(sent.length, 2, 'only the two checks ran');
  assert.match(sent[0]!, /TABLE_SCHEMA IN \('app', 'shop'\)/);
});

test('an empty target gets each part, with inserts batched, in the order given', async () => {
  await using fake = await fakeTools({ mariadb: client('', 'root\\tlocalhost\\n') });
  const outcome = await target(fake.dir).restore(['db-app.sql', 'users.sql'], reader);
  assert.deepEqual(outcome.parts, ['db-app.sql', 'users.sql']);
  const sent = await stdins(fake.dir);
  assert.equal(sent.length, 4);
  assert.equal(sent[2], 'CREATE DATABASE `x`;\nINSERT INTO `t` VALUES (1),(2);');
  assert.equal(sent[3], USERS.trimEnd());
  for (const call of await fake.calls()) {
    assert.match(call.argv[0]!, /^--defaults-extra-file=/);
    assert.ok(!call.argv.includes('pw'));
  }
  const restoreCall = (await fake.calls())[2]!;
  assert.ok(restoreCall.argv.includes('--binary-mode'));
});

test('force drops the databases and accounts first', async () => {
  await using fake = await fakeTools({ mariadb: client('app\\t3\\n', 'app\\t%%\\n') });
  await target(fake.dir, true).restore(['db-app.sql', 'users.sql'], reader);
  const sent = await stdins(fake.dir);
  assert.equal(sent[2], 'DROP DATABASE IF EXISTS `app`;');
  assert.ok(
    sent[4]!.startsWith(
      "SET SESSION sql_mode = '';\nDROP USER IF EXISTS 'app'@'%';\n-- Lifeboat users part",
    ),
  );
});
