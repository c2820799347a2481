/**
 * MariaDB and Redis services end to end through the CLI and the plan: `lifeboat backup
 * <service>` stores the engine's parts as one snapshot, `lifeboat restore <service> --to`
 * brings them into a fresh server, and the data compares equal. A stock restic reads the
 * parts too.
 */
import assert from 'node:assert/strict';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { freePort } from '../support/free-port.js';
import { lifeboat, tempDir } from '../support/cli.js';
import { startMariadb } from '../support/mariadb.js';
import { startRedis } from '../support/redis.js';
import { restic } from '../support/restic.js';

async function planFor(dir: string, service: string, source: string[]): Promise<string> {
  await writeFile(join(dir, 'repo-pw'), 'repo-secret\n', { mode: 0o600 });
  const plan = join(dir, 'lifeboat.yaml');
  await writeFile(
    plan,
    [
      'version: 1',
      'repositories:',
      `  main: { url: ${join(dir, 'repo')}, password: { file: ${join(dir, 'repo-pw')} } }`,
      'services:',
      `  ${service}:`,
      '    source:',
      ...source.map((l) => `      ${l}`),
      '',
    ].join('\n'),
  );
  const init = await lifeboat(['-r', join(dir, 'repo'), 'init'], {
    env: { LIFEBOAT_PASSWORD_FILE: join(dir, 'repo-pw') },
  });
  assert.equal(init.code, 0, init.stderr);
  return plan;
}

test(
  'mariadb service: backup, restore into a fresh server, same checksums; restic dumps the part',
  { timeout: 300_000 },
  async () => {
    await using dir = await tempDir('lifeboat-svc-');
    await using src = await startMariadb();
    await src.sql('CREATE DATABASE shop');
    await src.sql(
      'CREATE TABLE orders (id INT PRIMARY KEY, item VARCHAR(40), qty INT); ' +
        "INSERT INTO orders SELECT seq, CONCAT('item-', seq), seq % 7 FROM seq_1_to_20000;",
      'shop',
    );
    await writeFile(join(dir.path, 'db-pw'), `${src.password}\n`, { mode: 0o600 });
    const plan = await planFor(dir.path, 'shop', [
      'type: mariadb',
      'host: 127.0.0.1',
      `port: ${String(src.port)}`,
      'user: root',
      `password: { file: ${join(dir.path, 'db-pw')} }`,
      'databases: [shop]',
    ]);
    const env = { LIFEBOAT_PLAN: plan };
    const b = await lifeboat(['--json', 'backup', 'shop'], { env });
    assert.equal(b.code, 0, b.stderr);
    assert.match(b.stdout, /"type":"summary"/);

    await using dst = await startMariadb();
    const r = await lifeboat(['restore', 'shop', '--to', `127.0.0.1:${String(dst.port)}`], {
      env: { ...env, LIFEBOAT_TARGET_PASSWORD: dst.password },
    });
    assert.equal(r.code, 0, r.stderr);
    const sum = (s: typeof src) => s.sql('CHECKSUM TABLE shop.orders');
    assert.equal(await sum(dst), await sum(src));
    assert.equal(await dst.sql('SELECT count(*) FROM shop.orders'), '20000');

    // A second restore into the same server is refused without --force.
    const again = await lifeboat(['restore', 'shop', '--to', `127.0.0.1:${String(dst.port)}`], {
      env: { ...env, LIFEBOAT_TARGET_PASSWORD: dst.password },
    });
    assert.equal(again.code, 1);
    assert.match(again.stderr, /not empty|already|force/i);

    const dump = await restic(['dump', 'latest', '/db-shop.sql'], {
      repo: join(dir.path, 'repo'),
      password: 'repo-secret',
    });
    assert.equal(dump.code, 0, dump.stderr);
    assert.match(dump.stdout, /CREATE TABLE `orders`/);
  },
);

test(
  'redis service: backup over the replication protocol, restore starts a fresh server with the same keys',
  { timeout: 300_000 },
  async () => {
    await using dir = await tempDir('lifeboat-svc-');
    await using src = await startRedis({ password: 'cache-secret' });
    for (let i = 0; i < 50; i++) {
      await src.cli(
        'MSET',
        ...Array.from({ length: 40 }, (_, j) => [
          `k:${String(i)}:${String(j)}`,
          `v${String(i * j)}`,
        ]).flat(),
      );
    }
    await src.cli('HSET', 'h', 'a', '1', 'b', '2');
    await src.cli('RPUSH', 'l', 'x', 'y', 'z');
    await writeFile(join(dir.path, 'redis-pw'), 'cache-secret\n', { mode: 0o600 });
    const plan = await planFor(dir.path, 'cache', [
      'type: redis',
      'host: 127.0.0.1',
      `port: ${String(src.port)}`,
      `password: { file: ${join(dir.path, 'redis-pw')} }`,
    ]);
    const env = { LIFEBOAT_PLAN: plan };
    const b = await lifeboat(['backup', 'cache'], { env });
    assert.equal(b.code, 0, b.stderr);

    const target = join(dir.path, 'restored');
    const port = await freePort();
    const r = await lifeboat(['restore', 'cache', '--to', target, '--port', String(port)], { env });
    try {
      assert.equal(r.code, 0, r.stderr);
      await using copy = await startRedisClient(port);
      assert.equal(await copy.cli('DBSIZE'), await src.cli('DBSIZE'));
      assert.equal(await copy.cli('GET', 'k:7:9'), 'v63');
      assert.equal(await copy.cli('HGET', 'h', 'b'), '2');
      assert.equal(await copy.cli('LRANGE', 'l', '0', '-1'), 'x\ny\nz');
    } finally {
      const pid = Number(
        (await readFile(join(target, 'redis-server.pid'), 'utf8').catch(() => '0')).trim(),
      );
      if (pid > 0) process.kill(pid, 'SIGKILL');
      await rm(target, { recursive: true, force: true });
    }
  },
);

/** redis-cli against the restored server (password as the source's, via REDISCLI_AUTH). */
async function startRedisClient(port: number) {
  const { run } = await import('../support/os-user.js');
  return {
    async cli(...args: string[]) {
      const r = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], {
        env: { ...process.env, REDISCLI_AUTH: 'cache-secret' },
      });
      return r.stdout.trim();
    },
    async [Symbol.asyncDispose]() {
      await Promise.resolve();
    },
  };
}
