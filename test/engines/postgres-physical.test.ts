/**
 * The PostgreSQL physical building blocks against real PostgreSQL 15 servers (issue 3, PITR):
 * a base backup streamed through extractTar into a fresh data directory, WAL from an archive
 * (archive_command = cp) or from pg_receivewal, recovery to every kind of target, and the
 * failures a restore must report: WAL that ends before the target (WAL_GAP), a target inside
 * the backup, tablespaces that a single tar cannot hold, a user without REPLICATION.
 */
import assert from 'node:assert/strict';
import { access, chown, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { isLifeboatError, type ErrorCode } from '../../src/core/errors.js';
import { parseBackupLabel } from '../../src/engines/postgres/backup-label.js';
import { streamBaseBackup, type BaseBackupInfo } from '../../src/engines/postgres/basebackup.js';
import type { PgConnection } from '../../src/engines/postgres/connection.js';
import { extractTar } from '../../src/engines/postgres/extract.js';
import { dropReplicationSlot, startReceiveWal } from '../../src/engines/postgres/receivewal.js';
import {
  writeRecoveryConfig,
  type RecoveryTarget,
} from '../../src/engines/postgres/recovery-config.js';
import {
  isRunning,
  startServer,
  stopServer,
  waitUntilPromoted,
} from '../../src/engines/postgres/server-control.js';
import {
  formatLsn,
  isBackupHistoryName,
  segmentNameForLsn,
} from '../../src/engines/postgres/wal-names.js';
import { postgresUser, removeAtExit, tempDirFor } from '../support/os-user.js';
import { PG_BIN, pgRestoreSpot, startPostgres, type PgServer } from '../support/postgres.js';

const T = { timeout: 180_000 };

function connOf(pg: PgServer, user = 'postgres', password = pg.password): PgConnection {
  return { host: pg.host, port: pg.port, user, password, binDir: PG_BIN };
}

async function collect(stream: AsyncIterable<Uint8Array>): Promise<Buffer[]> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.from(c));
  return chunks;
}

async function* replay(chunks: readonly Buffer[]): AsyncGenerator<Uint8Array> {
  for (const c of chunks) {
    await Promise.resolve();
    yield c;
  }
}

/** Switches to a new segment and waits until the old one is in `dir`. */
async function switchAndWait(pg: PgServer, dir: string): Promise<string> {
  const name = await pg.psql('SELECT pg_walfile_name(pg_switch_wal())');
  for (let i = 0; i < 500; i++) {
    if ((await readdir(dir)).includes(name)) return name;
    await sleep(20);
  }
  throw new Error(`segment ${name} never reached ${dir}`);
}

interface Restored {
  rows: string;
  settings: string;
  timeline: number | null;
}

/** Restores the base backup into a fresh spot with `target`, WAL from `walDir`. */
async function restore(
  backup: readonly Buffer[],
  walDir: string,
  target: RecoveryTarget,
  restoreCommand = `cp '${walDir}/%f' '%p'`,
  whileRunning?: (
    dataDir: string,
    spot: { port: number; socketDir: string; baseDir: string },
  ) => Promise<void>,
): Promise<Restored> {
  await using spot = await pgRestoreSpot();
  await extractTar(replay(backup), spot.dataDir, { owner: spot.osUser });
  await writeRecoveryConfig(spot.dataDir, {
    restoreCommand,
    target,
    action: 'promote',
    port: spot.port,
    listenAddresses: '',
    socketDir: spot.socketDir,
  });
  const server = await startServer(spot.dataDir, {
    binDir: PG_BIN,
    port: spot.port,
    socketDir: spot.socketDir,
    logFile: join(spot.baseDir, 'restore.log'),
    osUser: spot.osUser,
  });
  try {
    const facts = await waitUntilPromoted(server, { timeoutMs: 60_000 });
    const rows = await spot.psql(
      "SELECT string_agg(phase || '=' || n, ',' ORDER BY phase) FROM (SELECT phase, count(*) n FROM t GROUP BY phase) x",
    );
    const settings = await spot.psql(
      "SELECT string_agg(name || '=' || setting, E'\\n' ORDER BY name) FROM pg_settings WHERE name IN ('archive_mode', 'restore_command', 'port', 'listen_addresses')",
    );
    assert.equal(await spot.psql('SELECT pg_is_in_recovery()'), 'f');
    await whileRunning?.(spot.dataDir, spot);
    return { rows, settings, timeline: facts.timeline };
  } finally {
    await stopServer(spot.dataDir, 'fast', { binDir: PG_BIN, osUser: spot.osUser });
  }
}

async function restoreFails(
  backup: readonly Buffer[],
  walDir: string,
  target: RecoveryTarget,
  code: ErrorCode,
  restoreCommand?: string,
): Promise<Error> {
  let caught: unknown;
  await restore(backup, walDir, target, restoreCommand).catch((e: unknown) => (caught = e));
  assert.ok(isLifeboatError(caught, code), `expected ${code}, got ${String(caught)}`);
  return caught;
}

describe('base backup, archived WAL and point-in-time recovery', () => {
  let pg: PgServer;
  let archive = '';
  let backup: Buffer[] = [];
  let info: BaseBackupInfo;
  const marks = { xid: '', lsn: '', time: '' };

  before(async () => {
    const user = postgresUser();
    const dir = await tempDirFor(user, 'lifeboat-archive-');
    removeAtExit(dir);
    archive = join(dir, 'wal');
    await mkdir(archive);
    await chown(archive, user.uid, user.gid);
    pg = await startPostgres({
      conf: { archive_mode: 'on', archive_command: `cp %p ${archive}/%f`, wal_level: 'replica' },
    });
    await pg.psql(
      "CREATE TABLE t (id serial, phase text); INSERT INTO t (phase) SELECT 'base' FROM generate_series(1, 1000)",
    );
    const b = streamBaseBackup(connOf(pg), { label: 'pitr test: nightly' });
    backup = await collect(b.stream);
    info = await b.info;
    // After the backup: one transaction per phase, with a mark between each.
    marks.xid = await pg.psql(
      "BEGIN; INSERT INTO t (phase) SELECT 'p1' FROM generate_series(1, 10); SELECT pg_current_xact_id(); COMMIT;",
    );
    marks.lsn = await pg.psql('SELECT pg_current_wal_lsn()');
    await pg.psql(
      "INSERT INTO t (phase) SELECT 'p2' FROM generate_series(1, 20); SELECT pg_create_restore_point('after p2');",
    );
    await sleep(50);
    marks.time = await pg.psql(
      "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00'",
    );
    await sleep(50);
    await pg.psql("INSERT INTO t (phase) SELECT 'p3' FROM generate_series(1, 30)");
    await switchAndWait(pg, archive);
  });
  after(async () => {
    await pg[Symbol.asyncDispose]();
  });

  test('the backup info matches the server and its archived backup history file', async () => {
    assert.equal(info.label, 'pitr test: nightly');
    assert.equal(info.startTimeline, 1);
    assert.equal(info.walSegmentSize, 16 * 1024 * 1024);
    assert.ok(info.stopLsn > info.startLsn);
    assert.equal(info.startSegment, segmentNameForLsn(1, info.startLsn));
    assert.equal(
      info.systemIdentifier,
      await pg.psql('SELECT system_identifier FROM pg_control_system()'),
    );
    const history = (await readdir(archive)).filter(isBackupHistoryName);
    assert.equal(history.length, 1);
    const h = parseBackupLabel(await readFile(join(archive, history[0]!), 'utf8'), history[0]);
    assert.equal(h.startLsn, info.startLsn);
    assert.equal(h.stopLsn, info.stopLsn);
    assert.equal(h.stopSegment, info.stopSegment);
    // -X none waits for the archive: the last segment the backup needs was there at once.
    await access(join(archive, info.stopSegment));
  });

  test(
    'recovers to the latest WAL; restored copy does not archive, listens where told',
    T,
    async () => {
      // Quotes and a backslash survive the trip through postgresql.auto.conf.
      const cmd = `cp '${archive}/%f' '%p' && : 'it''s a back\\slash'`;
      const inUse = (e: unknown) => isLifeboatError(e, 'TARGET_IN_USE');
      const r = await restore(backup, archive, { kind: 'latest' }, cmd, async (dataDir, spot) => {
        // Nothing touches the data directory of a running server.
        await assert.rejects(extractTar(replay(backup), dataDir, { force: true }), inUse);
        await assert.rejects(
          writeRecoveryConfig(dataDir, {
            restoreCommand: 'true',
            target: { kind: 'latest' },
            action: 'promote',
          }),
          inUse,
        );
        const log = join(spot.baseDir, 'second.log');
        await assert.rejects(
          startServer(dataDir, {
            binDir: PG_BIN,
            port: spot.port,
            socketDir: spot.socketDir,
            logFile: log,
          }),
          inUse,
        );
        assert.equal(
          await isRunning(dataDir),
          Number((await readFile(join(dataDir, 'postmaster.pid'), 'utf8')).split('\n')[0]),
        );
      });
      assert.equal(r.rows, 'base=1000,p1=10,p2=20,p3=30');
      assert.equal(r.timeline, 2);
      assert.match(r.settings, /^archive_mode=off$/m);
      assert.match(r.settings, /^listen_addresses=$/m);
      assert.ok(r.settings.split('\n').includes(`restore_command=${cmd}`), r.settings);
    },
  );

  test('recovers to an xid, an LSN, a restore point, a time, the backup alone', T, async () => {
    const cases: [RecoveryTarget, string][] = [
      [{ kind: 'immediate' }, 'base=1000'],
      [{ kind: 'xid', xid: marks.xid }, 'base=1000,p1=10'],
      [{ kind: 'lsn', lsn: marks.lsn }, 'base=1000,p1=10'],
      [{ kind: 'name', name: 'after p2' }, 'base=1000,p1=10,p2=20'],
      [{ kind: 'time', time: marks.time }, 'base=1000,p1=10,p2=20'],
    ];
    for (const [target, rows] of cases) {
      assert.equal((await restore(backup, archive, target)).rows, rows, JSON.stringify(target));
    }
  });

  test('a target beyond the end of the archive is WAL_GAP', T, async () => {
    const e = await restoreFails(backup, archive, { kind: 'lsn', lsn: 'FF/0' }, 'WAL_GAP');
    assert.match(e.message, /archived WAL ends before the recovery target/);
    await restoreFails(backup, archive, { kind: 'time', time: '2099-01-01 00:00:00Z' }, 'WAL_GAP');
    await restoreFails(backup, archive, { kind: 'name', name: 'never made' }, 'WAL_GAP');
  });

  test('a missing first segment is WAL_GAP; a target inside the backup is refused', T, async () => {
    const skipFirst = `test %f != ${info.startSegment} && cp '${archive}/%f' '%p'`;
    await restoreFails(backup, archive, { kind: 'latest' }, 'WAL_GAP', skipFirst);
    await restoreFails(
      backup,
      archive,
      { kind: 'lsn', lsn: formatLsn(info.startLsn) },
      'INVALID_ARGUMENT',
    );
  });

  test(
    'a server that cannot start reports its log; stopping a stopped server is a no-op',
    T,
    async () => {
      await using spot = await pgRestoreSpot();
      await extractTar(replay(backup), spot.dataDir, { owner: spot.osUser });
      await writeFile(join(spot.dataDir, 'postgresql.auto.conf'), "shared_buffers = 'lots'\n");
      const logFile = join(spot.baseDir, 'bad.log');
      const opts = { binDir: PG_BIN, port: spot.port, socketDir: spot.socketDir, logFile };
      await assert.rejects(
        startServer(spot.dataDir, opts),
        (e: unknown) => isLifeboatError(e, 'TOOL_FAILED') && /shared_buffers/.test(e.message),
      );
      assert.equal(await isRunning(spot.dataDir), null);
      await stopServer(spot.dataDir, 'fast', { binDir: PG_BIN });
    },
  );

  test('stopping the stream early rejects info and ends pg_basebackup', T, async () => {
    const b = streamBaseBackup(connOf(pg));
    for await (const _ of b.stream) break;
    await assert.rejects(b.info, (e: unknown) => isLifeboatError(e, 'CANCELLED'));
    // The server saw its walsender go away: no base backup is left running.
    for (let i = 0; i < 100; i++) {
      if (
        (await pg.psql(
          "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'walsender'",
        )) === '0'
      )
        return;
      await sleep(50);
    }
    assert.fail('a walsender is still running');
  });
});

describe('base backup refusals', () => {
  test('bad input is refused before anything runs', () => {
    const conn: PgConnection = { host: '127.0.0.1', port: 1, user: 'postgres' };
    assert.throws(
      () => streamBaseBackup(conn, { label: 'a\nSTART WAL LOCATION: x' }),
      (e: unknown) => isLifeboatError(e, 'INVALID_ARGUMENT'),
    );
    assert.throws(
      () => streamBaseBackup({ ...conn, user: '-x' }),
      (e: unknown) => isLifeboatError(e, 'INVALID_ARGUMENT'),
    );
    assert.throws(
      () => streamBaseBackup({ ...conn, host: 'host=evil' }),
      (e: unknown) => isLifeboatError(e, 'INVALID_ARGUMENT'),
    );
  });

  test('tablespaces, a user without REPLICATION, a closed port', T, async () => {
    await using pg = await startPostgres({ fast: true });
    const tsDir = join(pg.baseDir, 'ts');
    await mkdir(tsDir);
    await chown(tsDir, pg.osUser.uid, pg.osUser.gid);
    await pg.psql("CREATE ROLE plain LOGIN PASSWORD 'plain-pass-1'");
    const plain = streamBaseBackup(connOf(pg, 'plain', 'plain-pass-1'));
    await assert.rejects(collect(plain.stream), (e: unknown) => isLifeboatError(e, 'UNREACHABLE'));
    await assert.rejects(plain.info, (e: unknown) => isLifeboatError(e, 'UNREACHABLE'));
    await pg.psql(`CREATE TABLESPACE extra LOCATION '${tsDir}'`);
    const ts = streamBaseBackup(connOf(pg));
    await assert.rejects(
      collect(ts.stream),
      (e: unknown) => isLifeboatError(e, 'UNSUPPORTED') && /tablespaces/.test(e.message),
    );
    const port = pg.port;
    await pg.stop();
    const down = streamBaseBackup({ ...connOf(pg), port });
    await assert.rejects(collect(down.stream), (e: unknown) => isLifeboatError(e, 'UNREACHABLE'));
  });
});

describe('WAL from pg_receivewal', () => {
  test(
    'a receiver on a slot supplies the WAL for a restore; it reports a lost server',
    T,
    async () => {
      await using pg = await startPostgres({ fast: true });
      const user = postgresUser();
      const walDir = join(pg.baseDir, 'received');
      await mkdir(walDir);
      await chown(walDir, user.uid, user.gid);
      await pg.psql(
        "CREATE TABLE t (id serial, phase text); INSERT INTO t (phase) SELECT 'base' FROM generate_series(1, 100)",
      );
      const segments: string[] = [];
      const slot = 'lifeboat_test';
      const receiver = await startReceiveWal(connOf(pg), {
        dir: walDir,
        slot,
        createSlot: true,
        synchronous: true,
        osUser: user,
        onSegment: (s) => segments.push(s),
      });
      try {
        assert.equal(await pg.psql('SELECT slot_name FROM pg_replication_slots'), slot);
        const b = streamBaseBackup(connOf(pg));
        const backup = await collect(b.stream);
        await pg.psql("INSERT INTO t (phase) SELECT 'after' FROM generate_series(1, 7)");
        const last = await switchAndWait(pg, walDir);
        for (let i = 0; i < 100 && !segments.includes(last); i++) await sleep(20);
        assert.ok(segments.includes(last), `onSegment reported ${segments.join(', ')}`);
        await receiver.stop();
        const exit = await receiver.exited;
        assert.equal(exit.stopped, true);
        assert.equal(exit.error, undefined);
        const r = await restore(backup, walDir, { kind: 'latest' });
        assert.equal(r.rows, 'after=7,base=100');
        // The info's stop segment was received, too.
        await access(join(walDir, (await b.info).stopSegment));

        // Without --loop, losing the server ends the receiver with an error.
        const again = await startReceiveWal(connOf(pg), { dir: walDir, slot, osUser: user });
        await pg.kill();
        const lost = await again.exited;
        assert.equal(lost.stopped, false);
        assert.ok(
          lost.error !== undefined && ['UNREACHABLE', 'TOOL_FAILED'].includes(lost.error.code),
          String(lost.error),
        );
        await pg.start();
        await dropReplicationSlot(connOf(pg), slot);
        assert.equal(await pg.psql('SELECT count(*) FROM pg_replication_slots'), '0');
      } finally {
        await receiver.stop();
      }
    },
  );
});
