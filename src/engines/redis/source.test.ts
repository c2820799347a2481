/**
 * The Redis source against a stand-in redis-cli that records its calls: the password travels
 * only in REDISCLI_AUTH, hostile settings run nothing, and the snapshot streams from stdout
 * with the diskless EOF mark removed. The real redis-cli runs in test/engines/redis.test.ts.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { collect, fakeTools } from '../../../test/engines/fake-tools.js';
import { isLifeboatError } from '../../core/errors.js';
import type { RedisConnection } from './connection.js';
import { createRedisSource } from './source.js';

const PASSWORD = 'redis secret "x"';
// 3 MiB of payload streamed through the pipe, then the EOF opcode, checksum and the mark.
const CLI = `case "$*" in
  *PING*) echo PONG ;;
  *--rdb*) printf 'REDIS0010'; head -c 3145728 /dev/zero; printf '\\377ABCDEFGH'; printf '0123456789abcdef0123456789abcdef01234567' ;;
esac`;

const conn = (binDir: string, more: Partial<RedisConnection> = {}): RedisConnection => ({
  host: '127.0.0.1',
  port: 6390,
  password: PASSWORD,
  username: 'backup',
  binDir,
  ...more,
});

test('one part dump.rdb, streamed, without the EOF mark; the password only in REDISCLI_AUTH', async () => {
  await using fake = await fakeTools({ 'redis-cli': CLI }, ['REDISCLI_AUTH']);
  const parts = await createRedisSource(conn(fake.dir)).listParts();
  assert.deepEqual(
    parts.map((p) => p.name),
    ['dump.rdb'],
  );
  const data = await collect(parts[0]!.open());
  assert.equal(data.length, 9 + 3145728 + 9);
  assert.equal(data.subarray(-9).toString('latin1'), '\xffABCDEFGH');
  const calls = await fake.calls();
  assert.deepEqual(
    calls.map((c) => c.argv),
    [
      ['-h', '127.0.0.1', '-p', '6390', '--user', 'backup', '--no-auth-warning', 'PING'],
      ['-h', '127.0.0.1', '-p', '6390', '--user', 'backup', '--no-auth-warning', '--rdb', '-'],
    ],
  );
  for (const c of calls) assert.deepEqual(c.env, { REDISCLI_AUTH: PASSWORD });
});

test('a reply other than PONG (NOAUTH) and a refused connection are UNREACHABLE', async () => {
  await using noauth = await fakeTools({ 'redis-cli': 'echo "NOAUTH Authentication required."' });
  await assert.rejects(createRedisSource(conn(noauth.dir)).listParts(), (e: unknown) => {
    assert.ok(isLifeboatError(e, 'UNREACHABLE'));
    assert.match(e.message, /NOAUTH/);
    assert.doesNotMatch(e.message, /secret/);
    return true;
  });
  await using down = await fakeTools({
    'redis-cli':
      'echo "Could not connect to Redis at 127.0.0.1:6390: Connection refused" >&2; exit 1',
  });
  await assert.rejects(createRedisSource(conn(down.dir)).listParts(), (e: unknown) =>
    isLifeboatError(e, 'UNREACHABLE'),
  );
});

test('a transfer cut short is a failure, not a short snapshot', async () => {
  await using fake = await fakeTools({
    'redis-cli': `case "$*" in *PING*) echo PONG ;; *) printf 'REDIS0010partial'; echo "I/O Error reading RDB payload from socket" >&2; exit 1 ;; esac`,
  });
  const [part] = await createRedisSource(conn(fake.dir)).listParts();
  await assert.rejects(
    collect(part!.open()),
    (e: unknown) => isLifeboatError(e, 'UNREACHABLE') || isLifeboatError(e, 'TOOL_FAILED'),
  );
});

test('hostile settings are refused before anything runs', async () => {
  await using fake = await fakeTools({ 'redis-cli': CLI });
  for (const h of [
    { host: '-h' },
    { host: 'a b' },
    { port: 70000 },
    { username: '--pass' },
    { username: 'a b' },
  ]) {
    assert.throws(
      () => createRedisSource(conn(fake.dir, h)),
      (e: unknown) => isLifeboatError(e, 'INVALID_ARGUMENT'),
      JSON.stringify(h),
    );
  }
  assert.deepEqual(await fake.calls(), []);
});

test('a socket path is passed with -s', async () => {
  await using fake = await fakeTools({ 'redis-cli': CLI });
  await createRedisSource({
    host: '/run/redis/redis.sock',
    port: 6379,
    binDir: fake.dir,
  }).listParts();
  assert.deepEqual((await fake.calls())[0]!.argv, [
    '-s',
    '/run/redis/redis.sock',
    '--no-auth-warning',
    'PING',
  ]);
});
