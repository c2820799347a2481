/**
 * The MongoDB source against a stand-in mongodump (no MongoDB server or tools can be installed
 * here): arguments, the password only in the 0600 --config file (removed afterwards), the
 * archive streamed byte for byte, and the failures.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { collect, fakeTools } from '../../../test/engines/fake-tools.js';
import { mongoArchive } from '../../../test/engines/mongo-archive.js';
import { freePort } from '../../../test/support/free-port.js';
import { isLifeboatError } from '../../core/errors.js';
import type { MongoConnection } from './source.js';
import { createMongoSource } from './source.js';

const PASSWORD = 'mongo "hunter2": yes\\no';

/** Something that accepts TCP connections, standing in for mongod's port. */
async function listener(): Promise<AsyncDisposable & { port: number }> {
  const server: Server = createServer((s) => s.destroy());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return { port, [Symbol.asyncDispose]: () => new Promise<void>((r) => server.close(() => r())) };
}

const conn = (
  binDir: string,
  port: number,
  more: Partial<MongoConnection> = {},
): MongoConnection => ({
  host: '127.0.0.1',
  port,
  username: 'backup',
  password: PASSWORD,
  authenticationDatabase: 'admin',
  binDir,
  ...more,
});

test('all.archive streams mongodump stdout byte for byte; the password is only in the config file', async () => {
  await using server = await listener();
  await using fake = await fakeTools({ mongodump: 'cat "$FAKE/archive.bin"' });
  const archive = mongoArchive([['app', 'users']], randomBytes(8 << 20));
  await writeFile(join(fake.dir, 'archive.bin'), archive);

  const parts = await createMongoSource(conn(fake.dir, server.port)).listParts();
  assert.deepEqual(
    parts.map((p) => p.name),
    ['all.archive'],
  );
  assert.ok((await collect(parts[0]!.open())).equals(archive));

  const [call] = await fake.calls();
  const config = call!.argv[0]!;
  assert.match(config, /^--config=\//);
  assert.deepEqual(call!.argv.slice(1), [
    '--host=127.0.0.1',
    `--port=${server.port}`,
    '--username=backup',
    '--authenticationDatabase=admin',
    '--archive',
    '--numParallelCollections=1',
  ]);
  const file = config.slice('--config='.length);
  assert.deepEqual(call!.files[file], {
    content: 'password: "mongo \\"hunter2\\": yes\\\\no"\n',
    mode: '600',
  });
  assert.ok(!existsSync(file), 'config file removed afterwards');
  assert.ok(!call!.argv.some((a) => a.includes('hunter2')));
});

test('listed databases give one part each, dumped with --db', async () => {
  await using server = await listener();
  await using fake = await fakeTools({ mongodump: 'printf x' });
  const parts = await createMongoSource(
    conn(fake.dir, server.port, { databases: ['shop', 'app'] }),
  ).listParts();
  assert.deepEqual(
    parts.map((p) => p.name),
    ['db-app.archive', 'db-shop.archive'],
  );
  await collect(parts[1]!.open());
  assert.equal((await fake.calls())[0]!.argv.at(-1), '--db=shop');
});

test('a closed port is UNREACHABLE before anything runs; a refused login is UNREACHABLE', async () => {
  await using fake = await fakeTools({
    mongodump:
      'echo "Failed: can\'t create session: connection() error occurred during connection handshake: auth error: sasl conversation error: unable to authenticate using mechanism \\"SCRAM-SHA-256\\": (AuthenticationFailed) Authentication failed." >&2; exit 1',
  });
  await assert.rejects(
    createMongoSource(conn(fake.dir, await freePort())).listParts(),
    (e: unknown) => isLifeboatError(e, 'UNREACHABLE'),
  );
  assert.deepEqual(await fake.calls(), []);

  await using server = await listener();
  const [part] = await createMongoSource(conn(fake.dir, server.port)).listParts();
  await assert.rejects(collect(part!.open()), (e: unknown) => {
    assert.ok(isLifeboatError(e, 'UNREACHABLE'));
    assert.doesNotMatch(e.message, /hunter2/);
    return true;
  });
});

test('a missing mongodump is TOOL_FAILED naming it', async () => {
  await using server = await listener();
  await using empty = await fakeTools({});
  const [part] = await createMongoSource(conn(empty.dir, server.port)).listParts();
  await assert.rejects(collect(part!.open()), (e: unknown) => {
    assert.ok(isLifeboatError(e, 'TOOL_FAILED'));
    assert.match(e.message, /mongodump is not installed/);
    return true;
  });
});

test('hostile settings, and a password without a user, are refused before anything runs', async () => {
  await using fake = await fakeTools({ mongodump: 'printf x' });
  const hostile: Partial<MongoConnection>[] = [
    { host: '--eval' },
    { host: '/tmp/mongodb.sock' },
    { port: -1 },
    { username: 'a b' },
    { username: '--uri=mongodb://evil' },
    { authenticationDatabase: '$external;x' },
    { databases: ['app', '../x'] },
  ];
  for (const h of hostile) {
    assert.throws(
      () => createMongoSource(conn(fake.dir, 27017, h)),
      (e: unknown) => isLifeboatError(e, 'INVALID_ARGUMENT'),
      JSON.stringify(h),
    );
  }
  assert.throws(
    () => createMongoSource({ host: '127.0.0.1', port: 27017, password: 'x', binDir: fake.dir }),
    (e: unknown) => isLifeboatError(e, 'INVALID_ARGUMENT'),
  );
  assert.deepEqual(await fake.calls(), []);
});
