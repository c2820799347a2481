/**
 * Tests of the throwaway test servers in test/support: each starts on a free loopback port,
 * answers, keeps its data across stop/start, really dies on kill(), and leaves neither a
 * process, a port nor a directory behind after disposal.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort, isPortOpen } from './free-port.js';
import { postgresUser, run } from './os-user.js';
import { startMariadb } from './mariadb.js';
import { PG_BIN, pgRestoreSpot, startPostgres, startStandby } from './postgres.js';
import { startRedis } from './redis.js';

/** Whether a process exists and is not a zombie. */
function isAlive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z /s.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** Asserts a server is gone: nothing on its port, its dir removed. */
async function assertGone(port: number, dir: string): Promise<void> {
  assert.equal(await isPortOpen(port), false, `port ${port} still open`);
  assert.equal(existsSync(dir), false, `${dir} still exists`);
}

describe('freePort', () => {
  test('returns distinct unused loopback ports, never the stock ones', async () => {
    const ports = await Promise.all([freePort(), freePort(), freePort()]);
    for (const port of ports) {
      assert.ok(port > 1024 && ![5432, 3306, 6379].includes(port));
      assert.equal(await isPortOpen(port), false);
    }
  });
});

describe('postgres', () => {
  test('starts as postgres, answers, keeps data across stop/start, kill really kills', async () => {
    let port = 0;
    let baseDir = '';
    {
      const t0 = Date.now();
      await using pg = await startPostgres({ fast: true });
      console.log(`postgres started in ${Date.now() - t0} ms`);
      ({ port, baseDir } = pg);
      assert.ok(pg.running);
      assert.equal(await pg.psql('SELECT current_user'), 'postgres');
      assert.equal(await pg.psql("SELECT setting FROM pg_settings WHERE name = 'fsync'"), 'off');
      // The server process runs as the postgres OS user, not root.
      const pid = (await run('cat', [join(pg.dataDir, 'postmaster.pid')])).stdout.split('\n')[0];
      const status = (await run('cat', [`/proc/${pid}/status`])).stdout;
      assert.match(status, new RegExp(`^Uid:\\s+${postgresUser().uid}\\s`, 'm'));

      await pg.psql('CREATE TABLE t (v text); INSERT INTO t VALUES ($$kept$$)');
      assert.equal(await pg.psqlTcp('SELECT v FROM t'), 'kept');
      assert.equal(await pg.psql('SELECT 1; SELECT 2'), '1\n2');
      await assert.rejects(pg.psql('SELECT * FROM missing'), /missing/);

      await pg.stop();
      assert.equal(pg.running, false);
      assert.equal(await isPortOpen(port), false);
      await pg.start();
      assert.equal(await pg.psql('SELECT v FROM t'), 'kept');

      await pg.kill();
      assert.equal(pg.running, false);
      assert.equal(await isPortOpen(port), false);
      await assert.rejects(pg.psql('SELECT 1'));
      await pg.start(); // crash recovery on the same dir and port
      assert.equal(await pg.psql('SELECT v FROM t'), 'kept');
    }
    await assertGone(port, baseDir);
  });

  test('TCP logins need the right password (scram-sha-256)', async () => {
    await using pg = await startPostgres({ fast: true, conf: { work_mem: '8MB' } });
    assert.equal(await pg.psql('SHOW work_mem'), '8MB');
    const bad = join(pg.baseDir, 'bad-pgpass');
    await writeFile(bad, `127.0.0.1:${pg.port}:*:postgres:wrong\n`, { mode: 0o600 });
    const r = await run(
      join(PG_BIN, 'psql'),
      ['-X', '-h', '127.0.0.1', '-p', String(pg.port), '-U', 'postgres', '-c', 'SELECT 1'],
      { env: { PATH: process.env['PATH'] ?? '', PGPASSFILE: bad } },
    );
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /password authentication failed/);
  });

  test('a standby receives rows inserted on the primary', async () => {
    await using primary = await startPostgres({ fast: true });
    const t0 = Date.now();
    await using standby = await startStandby(primary, { fast: true });
    console.log(`standby started in ${Date.now() - t0} ms`);
    assert.equal(await standby.psql('SELECT pg_is_in_recovery()'), 't');
    assert.equal(await primary.psql('SELECT count(*) FROM pg_replication_slots'), '1');
    await primary.psql('CREATE TABLE r (v int); INSERT INTO r VALUES (42)');
    let seen = '';
    for (let i = 0; i < 250 && seen !== '42'; i++) {
      seen = await standby.psql('SELECT v FROM r').catch(() => '');
      if (seen !== '42') await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.equal(seen, '42');
    assert.equal(await standby.psqlTcp('SELECT v FROM r'), '42');
    await standby[Symbol.asyncDispose]();
    assert.equal(await primary.psql('SELECT count(*) FROM pg_replication_slots'), '0');
  });

  test('a restore spot is empty, and disposal stops a server started there', async () => {
    await using pg = await startPostgres({ fast: true });
    let dataDir = '';
    let port = 0;
    {
      await using spot = await pgRestoreSpot();
      ({ dataDir, port } = spot);
      assert.equal(existsSync(spot.dataDir), false);
      assert.ok(existsSync(spot.socketDir));
      // Restore the way an engine would: a base backup, then pg_ctl start as postgres.
      await mkdir(spot.dataDir, { mode: 0o700 });
      await run('chown', [`${spot.osUser.uid}:${spot.osUser.gid}`, spot.dataDir]);
      const env = { PATH: process.env['PATH'] ?? '', PGPASSFILE: pg.passFile };
      const backup = ['-h', '127.0.0.1', '-p', String(pg.port), '-U', 'postgres'];
      backup.push('-D', spot.dataDir, '-X', 'stream', '-c', 'fast', '-N');
      const b = await run(join(PG_BIN, 'pg_basebackup'), backup, { user: spot.osUser, env });
      assert.equal(b.code, 0, b.stderr);
      const o = `-p ${spot.port} -k ${spot.socketDir}`;
      const log = join(spot.baseDir, 'log');
      const args = ['start', '-w', '-D', spot.dataDir, '-o', o, '-l', log];
      const s = await run(join(PG_BIN, 'pg_ctl'), args, { user: spot.osUser, env });
      assert.equal(s.code, 0, s.stderr + s.stdout);
      assert.equal(await spot.psql('SELECT 7'), '7');
      assert.equal(await isPortOpen(spot.port), true);
    }
    await assertGone(port, dataDir);
  });

  test('startup failure names the cause and includes the log tail', async () => {
    await assert.rejects(
      startPostgres({ conf: { shared_buffers: 'not-a-size' } }),
      /exited during startup[\s\S]*shared_buffers/,
    );
  });
});

describe('mariadb', () => {
  test('starts, answers over socket and TCP, keeps data across stop/start and kill', async () => {
    let port = 0;
    let baseDir = '';
    {
      const t0 = Date.now();
      await using db = await startMariadb();
      console.log(`mariadb started in ${Date.now() - t0} ms`);
      ({ port, baseDir } = db);
      assert.equal(await db.sql('SELECT CURRENT_USER()'), 'root@localhost');
      await db.sql(
        'CREATE DATABASE app; CREATE TABLE app.t (v TEXT); INSERT INTO app.t VALUES ("kept")',
      );
      assert.equal(await db.sql('SELECT v FROM t', 'app'), 'kept');
      await assert.rejects(db.sql('SELECT * FROM app.missing'), /missing/);

      // TCP with the password works; without it the server refuses.
      const tcp = ['--no-defaults', '-h', '127.0.0.1', '-P', String(port), '-u', 'root', '-N'];
      const good = await run('mariadb', [...tcp, '-e', 'SELECT CURRENT_USER()'], {
        env: { PATH: process.env['PATH'] ?? '', MYSQL_PWD: db.password },
      });
      assert.equal(good.stdout.trim(), 'root@127.0.0.1', good.stderr);
      const bad = await run('mariadb', [...tcp, '-e', 'SELECT 1']);
      assert.notEqual(bad.code, 0);
      assert.match(bad.stderr, /Access denied/);

      await db.stop();
      assert.equal(db.running, false);
      assert.equal(await isPortOpen(port), false);
      await db.start();
      assert.equal(await db.sql('SELECT v FROM app.t'), 'kept');

      await db.kill();
      assert.equal(await isPortOpen(port), false);
      await assert.rejects(db.sql('SELECT 1'));
      await db.start(); // InnoDB crash recovery
      assert.equal(await db.sql('SELECT v FROM app.t'), 'kept');
    }
    await assertGone(port, baseDir);
  });
});

describe('redis', () => {
  test('starts with a password, answers, kill really kills, disposal cleans up', async () => {
    let port = 0;
    let baseDir = '';
    {
      const t0 = Date.now();
      await using r = await startRedis({ password: 'sec"ret \\x' });
      console.log(`redis started in ${Date.now() - t0} ms`);
      ({ port, baseDir } = r);
      assert.equal(await r.cli('SET', 'k', 'v'), 'OK');
      assert.equal(await r.cli('GET', 'k'), 'v');
      const noAuth = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), 'GET', 'k']);
      assert.match(noAuth.stdout + noAuth.stderr, /NOAUTH/);
      const pid = (await r.cli('INFO', 'server')).match(/process_id:(\d+)/)?.[1];
      assert.ok(pid !== undefined);
      await r.kill();
      assert.equal(r.running, false);
      assert.equal(isAlive(Number(pid)), false);
      assert.equal(await isPortOpen(port), false);
    }
    await assertGone(port, baseDir);
  });

  test('serves an existing RDB file from a given dir, keeps data across stop/start', async () => {
    await using first = await startRedis();
    await first.cli('SET', 'saved', 'yes');
    await first.stop(); // SIGTERM saves dump.rdb
    await using second = await startRedis({ dir: first.dir, dbfilename: 'dump.rdb' });
    assert.equal(await second.cli('GET', 'saved'), 'yes');
    await second.stop();
    await second.start();
    assert.equal(await second.cli('GET', 'saved'), 'yes');
  });
});

describe('exit reaper', () => {
  test('a process that exits without disposing leaves no server and no dir behind', async () => {
    const redisModule = new URL('./redis.js', import.meta.url).href;
    const script = `
      import { startRedis } from ${JSON.stringify(redisModule)};
      const r = await startRedis();
      console.log(JSON.stringify({ port: r.port, dir: r.baseDir, pid: (await r.cli('INFO', 'server')).match(/process_id:(\\d+)/)[1] }));
      process.exitCode = 3; // falls off the end: no disposal`;
    const child = await run(process.execPath, ['--input-type=module', '-e', script]);
    assert.equal(child.code, 3, child.stderr);
    const { port, dir, pid } = JSON.parse(child.stdout) as {
      port: number;
      dir: string;
      pid: string;
    };
    // SIGKILL was sent at exit; give the kernel a moment (a dead, unreaped child is a zombie).
    for (let i = 0; i < 100 && isAlive(Number(pid)); i++) await sleep(20);
    assert.equal(isAlive(Number(pid)), false, `redis-server ${pid} survived its test process`);
    await assertGone(port, dir);
  });
});
