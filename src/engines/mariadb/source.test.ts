/**
 * The MariaDB source against stand-in client tools that record their calls: what reaches
 * argv, that the password travels only in the option file (first argument, mode 0600, gone
 * afterwards), and that nothing runs for hostile settings. The real tools run in
 * test/engines/mariadb.test.ts.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { collect, fakeTools } from '../../../test/engines/fake-tools.js';
import { isLifeboatError } from '../../core/errors.js';
import { createMariadbSource, DUMP_OPTIONS, type MariadbConnection } from './source.js';

const PASSWORD = 'Pa$$ word "quoted" \\ back';

const CLIENT = `sql=$(cat)
case "$sql" in
  *SCHEMATA*) printf 'v\\t10.11.19-MariaDB-log\\nd\\tshop\\nd\\tmysql\\nd\\tinformation_schema\\nd\\tapp\\nd\\tperformance_schema\\nd\\tsys\\n' ;;
  *mysql.user*) printf 'root\\tlocalhost\\tN\\napp\\t%%\\tN\\n' ;;
  *SHOW*) printf 'CREATE USER \`app\`@\`%%\`\\nGRANT SELECT ON \`app\`.* TO \`app\`@\`%%\`\\n' ;;
esac`;

function tools(extra: Record<string, string> = {}) {
  return fakeTools({
    mariadb: CLIENT,
    'mariadb-dump': 'printf "dump of %s" "$(eval echo \\${$#})"',
    ...extra,
  });
}

const conn = (binDir: string, more: Partial<MariadbConnection> = {}): MariadbConnection => ({
  host: '127.0.0.1',
  port: 3307,
  user: 'backup',
  password: PASSWORD,
  binDir,
  ...more,
});

test('parts: every user database in name order, then users.sql', async () => {
  await using fake = await tools();
  const parts = await createMariadbSource(conn(fake.dir)).listParts();
  assert.deepEqual(
    parts.map((p) => p.name),
    ['db-app.sql', 'db-shop.sql', 'users.sql'],
  );
  assert.equal((await collect(parts[0]!.open())).toString(), 'dump of app');
  const users = (await collect(parts[2]!.open())).toString();
  assert.match(users, /^-- account {"user":"app","host":"%","role":false}$/m);
  assert.match(users, /^CREATE USER `app`@`%`;$/m);
  assert.doesNotMatch(users, /root/);
});

test('listed databases only, no users.sql unless asked; a missing one is NOT_FOUND', async () => {
  await using fake = await tools();
  const only = await createMariadbSource(
    conn(fake.dir, { databases: ['shop', 'app', 'shop'] }),
  ).listParts();
  assert.deepEqual(
    only.map((p) => p.name),
    ['db-app.sql', 'db-shop.sql'],
  );
  const withUsers = await createMariadbSource(
    conn(fake.dir, { databases: ['app'], users: true }),
  ).listParts();
  assert.deepEqual(
    withUsers.map((p) => p.name),
    ['db-app.sql', 'users.sql'],
  );
  await assert.rejects(
    createMariadbSource(conn(fake.dir, { databases: ['nope'] })).listParts(),
    (e: unknown) => {
      assert.ok(isLifeboatError(e, 'NOT_FOUND'));
      assert.match(e.message, /database nope does not exist on 127\.0\.0\.1:3307/);
      return true;
    },
  );
});

test('the password is only in the option file, which is the first argument, 0600 and removed', async () => {
  await using fake = await tools();
  const parts = await createMariadbSource(conn(fake.dir)).listParts();
  for (const p of parts) await collect(p.open());
  const calls = await fake.calls();
  assert.ok(calls.length >= 4, `${calls.length} calls`);
  for (const call of calls) {
    const first = call.argv[0] ?? '';
    assert.match(first, /^--defaults-extra-file=\//, `${call.tool}: option file first`);
    const file = first.slice('--defaults-extra-file='.length);
    assert.deepEqual(call.files[file], {
      content: '[client]\npassword="Pa$$ word \\"quoted\\" \\\\ back"\n',
      mode: '600',
    });
    assert.ok(!existsSync(file), 'option file removed afterwards');
    assert.ok(!call.argv.some((a) => a.includes('Pa$$')), `${call.tool}: no password in argv`);
    assert.deepEqual(call.argv.slice(1, 5), [
      '--protocol=TCP',
      '--host=127.0.0.1',
      '--port=3307',
      '--user=backup',
    ]);
  }
  const dump = calls.find((c) => c.tool === 'mariadb-dump')!;
  assert.deepEqual(dump.argv.slice(5), [...DUMP_OPTIONS, '--databases', 'app']);
});

test('a socket path connects over the socket; without a password there is no option file', async () => {
  await using fake = await tools();
  const socket = { host: '/run/mysqld/mysqld.sock', port: 3306, user: 'backup', binDir: fake.dir };
  await createMariadbSource(socket).listParts();
  const [call] = await fake.calls();
  assert.deepEqual(call!.argv.slice(0, 3), [
    '--protocol=SOCKET',
    '--socket=/run/mysqld/mysqld.sock',
    '--user=backup',
  ]);
});

test('hostile settings are refused before anything runs', async () => {
  await using fake = await tools();
  const hostile: Partial<MariadbConnection>[] = [
    { host: '-oProxyCommand=x' },
    { host: 'db host' },
    { port: 0 },
    { user: "root'--" },
    { user: '--skip-ssl' },
    { databases: ['app', 'x; DROP DATABASE y'] },
    { databases: ['-r/tmp/out'] },
  ];
  for (const h of hostile) {
    assert.throws(
      () => createMariadbSource(conn(fake.dir, h)),
      (e: unknown) => isLifeboatError(e, 'INVALID_ARGUMENT'),
      JSON.stringify(h),
    );
  }
  assert.deepEqual(await fake.calls(), []);
});

test('a server database whose name cannot be passed safely stops the backup with a hint', async () => {
  await using fake = await fakeTools({
    mariadb: `cat >/dev/null; printf 'v\\t10.11\\nd\\t-rfoo\\n'`,
  });
  await assert.rejects(createMariadbSource(conn(fake.dir)).listParts(), (e: unknown) => {
    assert.ok(isLifeboatError(e, 'INVALID_ARGUMENT'));
    assert.match(e.message, /"-rfoo".*list the databases/);
    return true;
  });
});

test('mysqldump is used when mariadb-dump is missing; a missing client is TOOL_FAILED', async () => {
  await using fake = await fakeTools({ mariadb: CLIENT, mysqldump: 'printf "old name"' });
  const [part] = await createMariadbSource(conn(fake.dir, { databases: ['app'] })).listParts();
  assert.equal((await collect(part!.open())).toString(), 'old name');

  await using empty = await fakeTools({});
  await assert.rejects(createMariadbSource(conn(empty.dir)).listParts(), (e: unknown) => {
    assert.ok(isLifeboatError(e, 'TOOL_FAILED'));
    assert.match(e.message, /mariadb is not installed/);
    return true;
  });
});

test('a refused connection is UNREACHABLE', async () => {
  await using fake = await fakeTools({
    mariadb: `cat >/dev/null; echo "ERROR 2003 (HY000): Can't connect to MySQL server on '127.0.0.1' (111)" >&2; exit 1`,
  });
  await assert.rejects(createMariadbSource(conn(fake.dir)).listParts(), (e: unknown) =>
    isLifeboatError(e, 'UNREACHABLE'),
  );
});
