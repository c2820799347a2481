import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { isLifeboatError } from '../../core/errors.js';
import {
  classifyPgFailure,
  classifyPsqlFailure,
  compilePgConnection,
  newestBinDir,
  openPgSession,
  type PgConnection,
} from './connection.js';

const good: PgConnection = {
  host: '127.0.0.1',
  port: 5432,
  user: 'postgres',
  binDir: '/nonexistent',
};

function rejects(conn: PgConnection, setting: RegExp): void {
  assert.throws(
    () => compilePgConnection(conn),
    (e: unknown) => {
      assert.ok(isLifeboatError(e, 'INVALID_ARGUMENT'), String(e));
      assert.match(e.message, setting);
      return true;
    },
  );
}

test('hostile connection settings are refused, naming the setting', () => {
  const long = 'a'.repeat(64 * 1024);
  for (const host of ['-fx', 'host=evil dbname=postgres', "x' OR 1=1", 'a\nb', long, '']) {
    rejects({ ...good, host }, /postgres\.host/);
  }
  for (const user of ['-fx', "x' OR 1=1", 'host=evil', 'a\nb', long, '']) {
    rejects({ ...good, user }, /postgres\.user/);
  }
  for (const db of ['-fx', "x' OR 1=1", 'host=evil dbname=postgres', 'a\nb', long]) {
    rejects({ ...good, databases: ['app', db] }, /postgres\.databases\[1\]/);
  }
  for (const port of [0, -1, 65536, 1.5, Number.NaN]) rejects({ ...good, port }, /postgres\.port/);
  rejects({ ...good, databases: ['app', 'app'] }, /listed twice/);
  rejects({ ...good, binDir: 'relative/bin' }, /binDir/);
});

test('a bad password is refused without being shown', () => {
  for (const password of ['', 'sec\nret', 'sec\rret', 'sec\0ret']) {
    assert.throws(
      () => compilePgConnection({ ...good, password }),
      (e: unknown) => {
        assert.ok(isLifeboatError(e, 'INVALID_ARGUMENT'));
        assert.ok(password === '' || !e.message.includes('sec'), e.message);
        return true;
      },
    );
  }
});

test('settings are normalised and labelled', () => {
  const s = compilePgConnection({ ...good, databases: ['app', 'b-2'] });
  assert.equal(s.label, 'PostgreSQL at 127.0.0.1:5432');
  assert.deepEqual(s.databases, ['app', 'b-2']);
  assert.equal(compilePgConnection({ ...good, host: '::1' }).label, 'PostgreSQL at [::1]:5432');
  assert.match(
    compilePgConnection({ ...good, host: '/run/postgresql' }).label,
    /socket \/run\/postgresql/,
  );
});

test('newestBinDir picks the highest major version that has pg_dump', async () => {
  const root = await mkdtemp(join(tmpdir(), 'lifeboat-pgroot-'));
  try {
    for (const [v, withDump] of [
      ['9.6', true],
      ['13', true],
      ['15', true],
      ['16', false],
      ['x', true],
    ] as const) {
      await mkdir(join(root, v, 'bin'), { recursive: true });
      if (withDump) await writeFile(join(root, v, 'bin', 'pg_dump'), '');
    }
    assert.equal(newestBinDir(root), join(root, '15', 'bin'));
    assert.equal(newestBinDir(join(root, 'missing')), undefined);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('a session passes settings by environment and the password by a private 0600 file', async () => {
  const settings = compilePgConnection({ ...good, password: 'pa:ss\\word' });
  let dir: string;
  {
    await using session = await openPgSession(settings);
    const env = session.env('app');
    assert.equal(env['PGHOST'], '127.0.0.1');
    assert.equal(env['PGPORT'], '5432');
    assert.equal(env['PGUSER'], 'postgres');
    assert.equal(env['PGDATABASE'], 'app');
    assert.equal(env['PGPASSWORD'], '');
    assert.equal(env['PGSERVICE'], 'lifeboat');
    // Inherited variables that could redirect the connection or change the session are blanked.
    for (const name of ['PGHOSTADDR', 'PGOPTIONS', 'PGCLIENTENCODING'])
      assert.equal(env[name], '', name);
    assert.equal(env['PGTARGETSESSIONATTRS'], 'any');
    assert.equal(session.env()['PGDATABASE'], undefined);
    for (const v of Object.values(env))
      assert.ok(!v.includes('word'), 'no password in the environment');
    const passFile = env['PGPASSFILE'];
    assert.ok(passFile !== undefined);
    assert.equal(await readFile(passFile, 'utf8'), '*:5432:*:postgres:pa\\:ss\\\\word\n');
    assert.equal((await stat(passFile)).mode & 0o777, 0o600);
    assert.equal(await readFile(env['PGSERVICEFILE'] ?? '', 'utf8'), '[lifeboat]\n');
    dir = env['PGSYSCONFDIR'] ?? '';
    assert.equal((await stat(dir)).mode & 0o777, 0o700);
  }
  await assert.rejects(stat(dir), { code: 'ENOENT' });
});

test('without a password no password file is set (libpq defaults apply)', async () => {
  await using session = await openPgSession(compilePgConnection(good));
  assert.equal(session.env()['PGPASSFILE'], undefined);
});

test('libpq failures are classified', () => {
  const cases: [string, string | undefined][] = [
    [
      'pg_dump: error: connection to server at "127.0.0.1", port 1 failed: Connection refused',
      'UNREACHABLE',
    ],
    [
      'pg_dump: error: connection to server at "h", port 5 failed: FATAL:  password authentication failed for user "u"',
      'UNREACHABLE',
    ],
    ['pg_dump: error: could not translate host name "x" to address', 'UNREACHABLE'],
    [
      'pg_dump: detail: Error message from server: server closed the connection unexpectedly',
      'UNREACHABLE',
    ],
    [
      'pg_dump: error: connection to server at "h", port 5 failed: FATAL:  database "x" does not exist',
      'NOT_FOUND',
    ],
    ['pg_restore: error: could not execute query: ERROR:  role "app" does not exist', undefined],
    ['pg_dump: error: query failed: ERROR:  permission denied for table pg_authid', undefined],
  ];
  for (const [stderr, want] of cases) assert.equal(classifyPgFailure(stderr), want, stderr);
  assert.equal(classifyPsqlFailure('psql: something odd', 2), 'UNREACHABLE');
  assert.equal(classifyPsqlFailure('ERROR:  syntax error', 3), undefined);
});
