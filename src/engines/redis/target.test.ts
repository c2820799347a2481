/**
 * Refusals of the Redis target, which must happen before anything is written or started, and
 * the quoting of the config file. Starting a real redis-server and redis-check-rdb on a damaged
 * snapshot are covered in test/engines/redis.test.ts.
 */
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fakeTools } from '../../../test/engines/fake-tools.js';
import { freePort } from '../../../test/support/free-port.js';
import { isLifeboatError } from '../../core/errors.js';
import type { PartReader } from '../engine.js';
import { createRedisTarget, redisConfigString } from './target.js';

let reads = 0;
const reader: PartReader = () => {
  reads++;
  return Readable.from([Buffer.from('REDIS0010')]);
};

async function tempDir(): Promise<AsyncDisposable & { path: string }> {
  const path = await mkdtemp(join(tmpdir(), 'lifeboat-redis-target-'));
  return { path, [Symbol.asyncDispose]: () => rm(path, { recursive: true, force: true }) };
}

test('config values are quoted so no byte can end the value or the line', () => {
  assert.equal(redisConfigString('plain'), '"plain"');
  assert.equal(redisConfigString('a"b\\c'), '"a\\"b\\\\c"');
  assert.equal(redisConfigString('x\ny\0z é'), '"x\\x0ay\\x00z \\xc3\\xa9"');
});

test('existing Redis data in the directory is refused before anything is read or run', async () => {
  await using dir = await tempDir();
  await using fake = await fakeTools({
    'redis-server': 'exit 0',
    'redis-check-rdb': 'exit 0',
    'redis-cli': 'exit 0',
  });
  for (const file of ['dump.rdb', 'appendonly.aof', 'appendonlydir']) {
    await writeFile(join(dir.path, file), 'old');
    reads = 0;
    const t = createRedisTarget({ dir: dir.path, port: await freePort(), binDir: fake.dir });
    await assert.rejects(t.restore(['dump.rdb'], reader), (e: unknown) => {
      assert.ok(isLifeboatError(e, 'TARGET_NOT_EMPTY'));
      assert.match(e.message, new RegExp(file));
      return true;
    });
    assert.equal(reads, 0);
    await rm(join(dir.path, file));
  }
  assert.deepEqual(await fake.calls(), []);
});

test('a port that answers is refused even with force', async () => {
  await using dir = await tempDir();
  await using fake = await fakeTools({ 'redis-server': 'exit 0' });
  const server = createServer((s) => s.destroy());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const port = (server.address() as { port: number }).port;
    const t = createRedisTarget({ dir: dir.path, port, force: true, binDir: fake.dir });
    await assert.rejects(t.restore(['dump.rdb'], reader), (e: unknown) =>
      isLifeboatError(e, 'TARGET_IN_USE'),
    );
  } finally {
    server.close();
  }
  assert.deepEqual(await readdir(dir.path), []);
  assert.deepEqual(await fake.calls(), []);
});

test('wrong parts and hostile settings are refused', async () => {
  await using dir = await tempDir();
  const t = createRedisTarget({ dir: dir.path, port: 6400 });
  for (const parts of [[], ['db-app.sql'], ['dump.rdb', 'dump.rdb']]) {
    await assert.rejects(t.restore(parts, reader), (e: unknown) =>
      isLifeboatError(e, 'INVALID_ARGUMENT'),
    );
  }
  for (const bad of [{ host: '/tmp/sock' }, { host: '-x' }, { port: 0 }]) {
    assert.throws(
      () => createRedisTarget({ dir: dir.path, port: 6400, ...bad }),
      (e: unknown) => isLifeboatError(e, 'INVALID_ARGUMENT'),
    );
  }
});

test('the new server gets its password from a 0600 config file, never from argv', async () => {
  await using dir = await tempDir();
  const password = 'new "server" pass\\word';
  await using fake = await fakeTools(
    {
      'redis-check-rdb': 'exit 0',
      // Keeps a copy of the config, then "daemonizes": a sleeping child writes the pid file.
      'redis-server': `cp "$1" "$FAKE/conf.copy"; stat -c %a "$1" > "$FAKE/conf.mode"
while [ $# -gt 0 ]; do [ "$1" = --pidfile ] && pf="$2"; shift; done
sleep 30 </dev/null >/dev/null 2>&1 &
echo $! > "$pf"`,
      'redis-cli': 'printf "# Persistence\\r\\nloading:0\\r\\n"',
    },
    ['REDISCLI_AUTH'],
  );
  const port = await freePort();
  const outcome = await createRedisTarget({
    dir: dir.path,
    port,
    password,
    binDir: fake.dir,
  }).restore(['dump.rdb'], reader);
  const pid = Number(/\(pid (\d+)\)/.exec(outcome.notes[0]!)?.[1]);
  try {
    assert.equal(outcome.notes[0], `started redis-server on 127.0.0.1:${port} (pid ${pid})`);
    const calls = await fake.calls();
    const server = calls.find((c) => c.tool === 'redis-server')!;
    assert.deepEqual(server.argv, [
      join(dir.path, 'lifeboat-redis.conf'),
      '--daemonize',
      'yes',
      '--dir',
      dir.path,
      '--dbfilename',
      'dump.rdb',
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--pidfile',
      join(dir.path, 'redis-server.pid'),
      '--logfile',
      join(dir.path, 'redis-server.log'),
      '--appendonly',
      'no',
    ]);
    assert.equal(
      await readFile(join(fake.dir, 'conf.copy'), 'utf8'),
      'requirepass "new \\"server\\" pass\\\\word"\n',
    );
    assert.equal((await readFile(join(fake.dir, 'conf.mode'), 'utf8')).trim(), '600');
    for (const c of calls.filter((c) => c.tool === 'redis-cli')) {
      assert.deepEqual(c.env, { REDISCLI_AUTH: password });
      assert.ok(!c.argv.some((a) => a.includes('pass')));
    }
    assert.deepEqual((await readFile(join(dir.path, 'dump.rdb'))).toString(), 'REDIS0010');
  } finally {
    process.kill(pid, 'SIGKILL');
  }
});
