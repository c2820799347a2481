/**
 * The Redis engine against real servers (issue 3): the engine contract, plus redis-check-rdb
 * stopping a damaged snapshot, refusal of a used directory or port, the password never in a
 * running tool's argv, and the notes of the started server. The source holds ~4,000 keys of
 * every type (string, hash, list, set, sorted set, stream with a consumer group) in two
 * databases, about a fifth with expirations, and ~21 MiB of incompressible strings.
 */
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { isLifeboatError } from '../../src/core/errors.js';
import { createRedisSource } from '../../src/engines/redis/source.js';
import {
  createRedisTarget,
  PID_FILE,
  CONFIG_FILE,
  type RedisTarget,
} from '../../src/engines/redis/target.js';
import { runTool } from '../../src/engines/tool.js';
import { freePort, isPortOpen } from '../support/free-port.js';
import { startRedis, type RedisServer } from '../support/redis.js';
import { dumpAll, engineContract, readerOf, type EngineSetup } from './engine-contract.js';

const SOURCE_PASSWORD = 'source "pass" word';
const TARGET_PASSWORD = 'target\\pass word\n2';

/** RESP for redis-cli --pipe. */
function resp(...args: (string | Buffer)[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const a of args) {
    const b = Buffer.isBuffer(a) ? a : Buffer.from(a);
    parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}

function* fillCommands(): Generator<Buffer> {
  const expireAt = String(Date.now() + 3_600_000);
  const keys: string[] = [];
  const add = (key: string, ...cmds: (string | Buffer)[][]) => {
    keys.push(key);
    return cmds.map((c) => resp(...c));
  };
  for (let i = 0; i < 2100; i++)
    yield* add(`str:${i}`, ['SET', `str:${i}`, randomBytes(10 * 1024)]);
  for (let i = 0; i < 500; i++) yield* add(`int:${i}`, ['SET', `int:${i}`, String(i * 7)]);
  for (let i = 0; i < 303; i++) {
    const n = i < 3 ? 1000 : 8;
    const fields = Array.from({ length: n }, (_, f) => [`f${f}`, `v${i}.${f}`]).flat();
    yield* add(`hash:${i}`, ['HSET', `hash:${i}`, ...fields]);
  }
  for (let i = 0; i < 302; i++) {
    const n = i < 2 ? 10000 : 10;
    yield* add(`list:${i}`, [
      'RPUSH',
      `list:${i}`,
      ...Array.from({ length: n }, (_, e) => `e${e}`),
    ]);
  }
  for (let i = 0; i < 402; i++) {
    const n = i < 2 ? 2000 : 10;
    const members = Array.from({ length: n }, (_, m) => (i < 300 ? String(m * 3) : `m${m}`));
    yield* add(`set:${i}`, ['SADD', `set:${i}`, ...members]);
  }
  for (let i = 0; i < 302; i++) {
    const n = i < 2 ? 1000 : 10;
    const pairs = Array.from({ length: n }, (_, m) => [String(m * 1.25 - 3), `z${m}`]).flat();
    yield* add(`zset:${i}`, ['ZADD', `zset:${i}`, ...pairs]);
  }
  for (let i = 0; i < 50; i++) {
    const key = `stream:${i}`;
    keys.push(key);
    for (let e = 0; e < 20; e++)
      yield resp('XADD', key, '*', 'n', String(e), 'payload', `p${i}.${e}`);
    yield resp('XGROUP', 'CREATE', key, 'g1', '0');
    yield resp('XREADGROUP', 'GROUP', 'g1', 'c1', 'COUNT', '5', 'STREAMS', key, '>');
  }
  for (let i = 0; i < keys.length; i += 5) yield resp('PEXPIREAT', keys[i]!, expireAt);
  yield resp('SELECT', '1');
  for (let i = 0; i < 100; i++) yield resp('SET', `db1:${i}`, `value ${i}`);
}

/** A canonical digest of one database, computed inside the server (type-aware, sorted). */
const DIGEST = `
local function enc(s) return #s .. ':' .. s end
local function flat(v, acc)
  if type(v) == 'table' then
    if v.ok then acc[#acc + 1] = 'ok:' .. v.ok
    elseif v.err then acc[#acc + 1] = 'err:' .. v.err
    else
      acc[#acc + 1] = '[' .. #v
      for _, x in ipairs(v) do flat(x, acc) end
      acc[#acc + 1] = ']'
    end
  else acc[#acc + 1] = enc(tostring(v)) end
end
local keys, cursor = {}, '0'
repeat
  local r = redis.call('SCAN', cursor, 'COUNT', 1000)
  cursor = r[1]
  for _, k in ipairs(r[2]) do keys[#keys + 1] = k end
until cursor == '0'
table.sort(keys)
local out = {}
for _, k in ipairs(keys) do
  local kind = redis.call('TYPE', k).ok
  local acc = { enc(k), kind, tostring(redis.call('PEXPIRETIME', k)) }
  if kind == 'string' then flat(redis.call('GET', k), acc)
  elseif kind == 'hash' then
    local h, p = redis.call('HGETALL', k), {}
    for i = 1, #h, 2 do p[#p + 1] = enc(h[i]) .. enc(h[i + 1]) end
    table.sort(p); flat(p, acc)
  elseif kind == 'list' then flat(redis.call('LRANGE', k, 0, -1), acc)
  elseif kind == 'set' then local s = redis.call('SMEMBERS', k); table.sort(s); flat(s, acc)
  elseif kind == 'zset' then flat(redis.call('ZRANGE', k, 0, -1, 'WITHSCORES'), acc)
  elseif kind == 'stream' then
    flat(redis.call('XRANGE', k, '-', '+'), acc)
    local groups = redis.call('XINFO', 'GROUPS', k)
    flat(groups, acc)
    for _, g in ipairs(groups) do flat(redis.call('XPENDING', k, g[2]), acc) end
  else acc[#acc + 1] = 'unexpected type' end
  out[#out + 1] = redis.sha1hex(table.concat(acc, '|'))
end
return { #keys, redis.sha1hex(table.concat(out, ',')) }
`;

async function cli(port: number, password: string, ...args: string[]): Promise<string> {
  const { stdout } = await runTool(
    {
      command: 'redis-cli',
      args: ['-h', '127.0.0.1', '-p', String(port), '--no-auth-warning', ...args],
      env: { REDISCLI_AUTH: password },
      what: 'test redis-cli',
    },
    { maxStdout: 1 << 20 },
  );
  return stdout.trim();
}

async function digest(port: number, password: string): Promise<string[]> {
  return [
    await cli(port, password, 'EVAL', DIGEST, '0'),
    await cli(port, password, '-n', '1', 'EVAL', DIGEST, '0'),
  ];
}

async function fill(r: RedisServer): Promise<void> {
  const { stdout } = await runTool(
    {
      command: 'redis-cli',
      args: ['-h', r.host, '-p', String(r.port), '--no-auth-warning', '--pipe'],
      env: { REDISCLI_AUTH: SOURCE_PASSWORD },
      what: 'filling redis',
    },
    {
      input: Readable.from(fillCommands()),
    },
  );
  assert.match(stdout, /errors: 0,/, stdout);
}

/** Stops a redis-server the target started (by its pid file) and removes the directory. */
async function removeTarget(dir: string): Promise<void> {
  const pid = Number(await readFile(join(dir, PID_FILE), 'utf8').catch(() => ''));
  if (pid > 0) {
    try {
      process.kill(pid, 'SIGKILL');
      for (let i = 0; i < 200; i++) {
        process.kill(pid, 0);
        await sleep(10);
      }
    } catch {
      // gone
    }
  }
  await rm(dir, { recursive: true, force: true });
}

interface RedisSetup extends EngineSetup {
  readonly sourceServer: RedisServer;
  readonly targetDir: string;
  readonly targetPort: number;
  targetWith(more: Partial<RedisTarget>): ReturnType<typeof createRedisTarget>;
  /** Another empty directory, removed (and its server stopped) on dispose. */
  newDir(): Promise<string>;
}

async function setup(): Promise<RedisSetup> {
  // No 5 s wait for further replicas before a diskless snapshot starts (the default delay).
  const src = await startRedis({
    password: SOURCE_PASSWORD,
    args: ['--repl-diskless-sync-delay', '0'],
  });
  const dirs: string[] = [];
  const newDir = async () => {
    const d = await mkdtemp(join(tmpdir(), 'lifeboat-redis-target-'));
    dirs.push(d);
    return d;
  };
  try {
    await fill(src);
    const targetDir = await newDir();
    const targetPort = await freePort();
    const closedPort = await freePort();
    const base: RedisTarget = { dir: targetDir, port: targetPort, password: TARGET_PASSWORD };
    return {
      sourceServer: src,
      targetDir,
      targetPort,
      newDir,
      source: createRedisSource({ host: src.host, port: src.port, password: SOURCE_PASSWORD }),
      target: createRedisTarget(base),
      targetWith: (more) => createRedisTarget({ ...base, ...more }),
      async compare() {
        const [a, b] = await Promise.all([
          digest(src.port, SOURCE_PASSWORD),
          digest(targetPort, TARGET_PASSWORD),
        ]);
        assert.ok(Number(b[0]!.split('\n')[0]) > 3500, `target db 0 has ${b[0]} keys`);
        assert.equal(b[1]!.split('\n')[0], '100');
        assert.deepEqual(b, a);
      },
      unreachable: () => createRedisSource({ host: '127.0.0.1', port: closedPort }),
      breakDuringDump: () => src.kill(),
      async [Symbol.asyncDispose]() {
        await src[Symbol.asyncDispose]();
        for (const d of dirs) await removeTarget(d);
      },
    };
  } catch (e) {
    await src[Symbol.asyncDispose]();
    for (const d of dirs) await removeTarget(d);
    throw e;
  }
}

engineContract('redis', { setup });

test('redis: the part is a plain RDB file and the target reports the server it started', async () => {
  await using s = await setup();
  const parts = await dumpAll(s.source);
  const rdb = parts.get('dump.rdb')!;
  assert.ok(rdb.length > 20 << 20, `${rdb.length} bytes`);
  assert.equal(rdb.subarray(0, 5).toString(), 'REDIS');
  assert.equal(
    rdb[rdb.length - 9],
    0xff,
    'ends with the EOF opcode and checksum, no replication mark',
  );

  const outcome = await s.target.restore(['dump.rdb'], readerOf(parts));
  const pid = Number(await readFile(join(s.targetDir, PID_FILE), 'utf8'));
  assert.equal(outcome.notes[0], `started redis-server on 127.0.0.1:${s.targetPort} (pid ${pid})`);
  assert.equal((await stat(join(s.targetDir, CONFIG_FILE))).mode & 0o777, 0o600);
  await s.compare();
  // The comparison sees a single changed field, and a changed expiry.
  await cli(s.targetPort, TARGET_PASSWORD, 'HSET', 'hash:7', 'f3', 'changed');
  await assert.rejects(s.compare(), assert.AssertionError);
  await cli(s.targetPort, TARGET_PASSWORD, 'HSET', 'hash:7', 'f3', 'v7.3');
  await s.compare();
  await cli(s.targetPort, TARGET_PASSWORD, 'PEXPIRE', 'str:5', '99999999');
  await assert.rejects(s.compare(), assert.AssertionError);
});

test('redis: a damaged snapshot is stopped by redis-check-rdb; nothing is left or started', async () => {
  await using s = await setup();
  const parts = await dumpAll(s.source);
  const rdb = Buffer.from(parts.get('dump.rdb')!);
  for (let i = 0; i < 64; i++) rdb[(rdb.length >> 1) + i] = rdb[(rdb.length >> 1) + i]! ^ 0x5a;
  const dir = await s.newDir();
  const port = await freePort();
  await assert.rejects(
    s.targetWith({ dir, port }).restore(['dump.rdb'], readerOf(new Map([['dump.rdb', rdb]]))),
    (e: unknown) => {
      assert.ok(isLifeboatError(e, 'INTEGRITY'), String(e));
      assert.match(e.message, /dump\.rdb is damaged, redis-check-rdb reports:/);
      return true;
    },
  );
  assert.deepEqual(await readdir(dir), []);
  assert.equal(await isPortOpen(port), false);
});

test('redis: a used directory or port is refused; force overwrites data but not a running server', async () => {
  await using s = await setup();
  const parts = await dumpAll(s.source);
  await s.target.restore(['dump.rdb'], readerOf(parts));
  const running = await readFile(join(s.targetDir, PID_FILE), 'utf8');

  await assert.rejects(s.target.restore(['dump.rdb'], readerOf(parts)), (e: unknown) =>
    isLifeboatError(e, 'TARGET_NOT_EMPTY'),
  );
  await assert.rejects(
    s.targetWith({ force: true }).restore(['dump.rdb'], readerOf(parts)),
    (e: unknown) => isLifeboatError(e, 'TARGET_IN_USE'),
  );
  await assert.rejects(
    s.targetWith({ dir: await s.newDir() }).restore(['dump.rdb'], readerOf(parts)),
    (e: unknown) => isLifeboatError(e, 'TARGET_IN_USE'),
  );
  assert.equal(
    await readFile(join(s.targetDir, PID_FILE), 'utf8'),
    running,
    'the running server was not touched',
  );

  // Stopped server, data left behind: force replaces it.
  await cli(s.targetPort, TARGET_PASSWORD, 'FLUSHALL');
  await cli(s.targetPort, TARGET_PASSWORD, 'SHUTDOWN', 'NOSAVE').catch(() => '');
  for (let i = 0; i < 200 && (await isPortOpen(s.targetPort)); i++) await sleep(20);
  await s.targetWith({ force: true }).restore(['dump.rdb'], readerOf(parts));
  await s.compare();
});

test('redis: the password is not in the running redis-cli’s argv, only in its environment', async () => {
  await using s = await setup();
  const [part] = await s.source.listParts();
  let checked = false;
  for await (const _chunk of part!.open()) {
    if (checked) continue;
    for (const pid of await readdir('/proc')) {
      if (!/^\d+$/.test(pid)) continue;
      const args = await readFile(`/proc/${pid}/cmdline`, 'utf8').then(
        (t) => t.split('\0'),
        (): string[] => [],
      );
      if (!(
        args[0]?.endsWith('redis-cli') &&
        args.includes('--rdb') &&
        args.includes(String(s.sourceServer.port))
      ))
        continue;
      assert.ok(!args.some((a) => a.includes(SOURCE_PASSWORD)), args.join(' '));
      const environ = (await readFile(`/proc/${pid}/environ`, 'utf8')).split('\0');
      assert.ok(environ.includes(`REDISCLI_AUTH=${SOURCE_PASSWORD}`));
      checked = true;
    }
  }
  assert.ok(checked, 'saw the running redis-cli');
});

test('redis: a wrong password is UNREACHABLE', async () => {
  await using r = await startRedis({ password: SOURCE_PASSWORD });
  const wrong = createRedisSource({ host: r.host, port: r.port, password: 'wrong' });
  await assert.rejects(wrong.listParts(), (e: unknown) => isLifeboatError(e, 'UNREACHABLE'));
});
