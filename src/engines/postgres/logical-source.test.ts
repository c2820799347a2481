/**
 * The logical source against fake client tools (shell scripts in a private binDir) that
 * record how they were called: what reaches argv and the environment, and that nothing runs
 * at all for hostile settings. The real tools are exercised in test/engines/postgres-logical.
 */
import assert from 'node:assert/strict';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { isLifeboatError } from '../../core/errors.js';
import type { PgConnection } from './connection.js';
import { createPgLogicalSource, databasePart, partDatabase } from './logical-source.js';

const PASSWORD = 'Very-Secret-Passw0rd';

interface FakeTools extends AsyncDisposable {
  dir: string;
  /** One line per call: tool name, argv and selected environment as JSON. */
  calls(): Promise<
    { tool: string; argv: string[]; env: Record<string, string>; passfile: string }[]
  >;
}

/** Fake psql/pg_dump/pg_dumpall/pg_restore; `psqlOut` is what psql prints. */
async function fakeTools(
  psqlOut: string,
  dumpScript = 'printf "dump of %s" "$PGDATABASE"',
): Promise<FakeTools> {
  const dir = await mkdtemp(join(tmpdir(), 'lifeboat-fakepg-'));
  const log = join(dir, 'calls.log');
  const record = `node -e 'const fs=require("fs");const e={};for(const k of Object.keys(process.env))if(/^PG/.test(k))e[k]=process.env[k];let p="";try{p=fs.readFileSync(process.env.PGPASSFILE,"utf8")+" "+(fs.statSync(process.env.PGPASSFILE).mode&0o777).toString(8)}catch{}fs.appendFileSync(${JSON.stringify(log)},JSON.stringify({tool:process.argv[1],argv:process.argv.slice(2),env:e,passfile:p})+"\\n")' "$(basename "$0")" "$@"`;
  const scripts: Record<string, string> = {
    psql: `printf '%s\\n' '${psqlOut}'`,
    pg_dump: dumpScript,
    pg_dumpall: 'printf "globals"',
    pg_restore: 'cat >/dev/null',
  };
  for (const [name, body] of Object.entries(scripts)) {
    await writeFile(join(dir, name), `#!/bin/sh\n${record}\n${body}\n`);
    await chmod(join(dir, name), 0o755);
  }
  return {
    dir,
    async calls() {
      const text = await readFile(log, 'utf8').catch(() => '');
      return text
        .split('\n')
        .filter((l) => l !== '')
        .map(
          (l) =>
            JSON.parse(l) as {
              tool: string;
              argv: string[];
              env: Record<string, string>;
              passfile: string;
            },
        );
    },
    [Symbol.asyncDispose]: () => rm(dir, { recursive: true, force: true }),
  };
}

async function collect(it: AsyncIterable<Uint8Array>): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of it) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks).toString();
}

const LIST = JSON.stringify([
  ['app', true, false],
  ['postgres', true, false],
  ['template0', false, true],
  ['template1', true, true],
]);

test('parts: globals first, then one per connectable non-template database, in name order', async () => {
  await using fake = await fakeTools(LIST);
  const conn = {
    host: '127.0.0.1',
    port: 5433,
    user: 'postgres',
    password: PASSWORD,
    binDir: fake.dir,
  };
  const parts = await createPgLogicalSource(conn).listParts();
  assert.deepEqual(
    parts.map((p) => p.name),
    ['globals.sql', 'db-app.pgdump', 'db-postgres.pgdump'],
  );
  const [globals, app] = parts;
  assert.equal(await collect(globals!.open()), 'globals');
  assert.equal(await collect(app!.open()), 'dump of app');
  assert.throws(() => app!.open(), /opened twice/);

  const calls = await fake.calls();
  assert.deepEqual(
    calls.map((c) => c.tool),
    ['psql', 'pg_dumpall', 'pg_dump'],
  );
  for (const c of calls) {
    // Nothing about the connection, and never the password, on the command line.
    const argv = c.argv.join(' ');
    for (const secret of [PASSWORD, '127.0.0.1', '5433', 'app'])
      assert.ok(!argv.includes(secret), `${c.tool} argv: ${argv}`);
    assert.equal(c.env['PGHOST'], '127.0.0.1');
    assert.equal(c.env['PGPORT'], '5433');
    assert.equal(c.env['PGPASSWORD'], '');
    assert.ok(!JSON.stringify(c.env).includes(PASSWORD), 'password not in the environment');
    assert.equal(
      c.passfile,
      `*:5433:*:postgres:${PASSWORD}\n 600`,
      'a 0600 password file while the tool runs',
    );
  }
  assert.deepEqual(calls[2]!.argv, ['--format=custom', '--compress=0', '--no-password']);
  assert.equal(calls[2]!.env['PGDATABASE'], 'app');
  assert.equal(calls[0]!.env['PGDATABASE'], 'postgres');
  // The password file lived only as long as each tool.
  await assert.rejects(readFile(calls[2]!.env['PGPASSFILE']!), { code: 'ENOENT' });
});

test('hostile names are refused before any tool runs', async () => {
  await using fake = await fakeTools(LIST);
  const base: PgConnection = { host: '127.0.0.1', port: 5432, user: 'postgres', binDir: fake.dir };
  const hostile: PgConnection[] = [
    { ...base, host: '-fx' },
    { ...base, host: 'host=evil dbname=postgres' },
    { ...base, user: "x' OR 1=1" },
    { ...base, user: '-fx' },
    { ...base, databases: ['host=evil dbname=postgres'] },
    { ...base, databases: ['-fx'] },
    { ...base, databases: ['a\nb'] },
    { ...base, databases: ['d'.repeat(65536)] },
    { ...base, port: 70000 },
  ];
  for (const conn of hostile) {
    await assert.rejects(
      async () => createPgLogicalSource(conn).listParts(),
      (e: unknown) => isLifeboatError(e, 'INVALID_ARGUMENT'),
    );
  }
  assert.deepEqual(await fake.calls(), [], 'no tool ran');
  // The same fake tools do run for sane settings, so the check above could fail.
  await createPgLogicalSource(base).listParts();
  assert.equal((await fake.calls()).length, 1);
});

test('a database name on the server that is not a safe identifier is refused, not skipped', async () => {
  await using fake = await fakeTools(
    JSON.stringify([
      ['app', true, false],
      ['x" OR 1=1', true, false],
    ]),
  );
  await assert.rejects(
    createPgLogicalSource({
      host: 'localhost',
      port: 5432,
      user: 'postgres',
      binDir: fake.dir,
    }).listParts(),
    (e: unknown) => isLifeboatError(e, 'INVALID_ARGUMENT') && /database found on/.test(e.message),
  );
});

test('given databases must exist and accept connections', async () => {
  await using fake = await fakeTools(LIST);
  const conn = { host: 'localhost', port: 5432, user: 'postgres', binDir: fake.dir };
  const parts = await createPgLogicalSource({
    ...conn,
    databases: ['postgres', 'template1'],
  }).listParts();
  assert.deepEqual(
    parts.map((p) => p.name),
    ['globals.sql', 'db-postgres.pgdump', 'db-template1.pgdump'],
  );
  await assert.rejects(
    createPgLogicalSource({ ...conn, databases: ['app', 'nope', 'template0'] }).listParts(),
    (e: unknown) => isLifeboatError(e, 'NOT_FOUND') && /"nope", "template0"/.test(e.message),
  );
});

test('a dump tool that loses its server fails the part after partial output', async () => {
  await using fake = await fakeTools(
    LIST,
    'printf partial; echo "pg_dump: detail: Error message from server: server closed the connection unexpectedly" >&2; exit 1',
  );
  const parts = await createPgLogicalSource({
    host: 'localhost',
    port: 5432,
    user: 'postgres',
    binDir: fake.dir,
  }).listParts();
  await assert.rejects(collect(parts[1]!.open()), (e: unknown) => {
    assert.ok(isLifeboatError(e, 'UNREACHABLE'), String(e));
    assert.match(e.message, /pg_dump of database app \(PostgreSQL at localhost:5432\)/);
    return true;
  });
});

test('part names round-trip and reject anything else', () => {
  assert.equal(partDatabase(databasePart('app_1')), 'app_1');
  assert.equal(partDatabase('globals.sql'), undefined);
  for (const bad of [
    'db-.pgdump',
    'db--fx.pgdump',
    "db-x' OR 1=1.pgdump",
    'db-a/b.pgdump',
    'other.sql',
    '../x',
  ]) {
    assert.throws(
      () => partDatabase(bad),
      (e: unknown) => isLifeboatError(e, 'INVALID_ARGUMENT'),
      bad,
    );
  }
});
