/**
 * The PostgreSQL logical engine against real PostgreSQL 15 servers (issue 3): the engine
 * contract, plus restores with pg_restore -j, refusal to restore over data, no password in any
 * process's argv or environment, a server killed mid-dump, and how alike two dumps are.
 */
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { isLifeboatError } from '../../src/core/errors.js';
import type { DumpSource } from '../../src/engines/engine.js';
import { createPgLogicalSource } from '../../src/engines/postgres/logical-source.js';
import {
  createPgLogicalTarget,
  type PgTargetOptions,
} from '../../src/engines/postgres/logical-target.js';
import { freePort } from '../support/free-port.js';
import { run } from '../support/os-user.js';
import { PG_BIN, startPostgres, type PgServer } from '../support/postgres.js';
import {
  dumpAll,
  engineContract,
  readerOf,
  readPart,
  type EngineFixture,
} from './engine-contract.js';

const GLOBAL_SQL = `
CREATE ROLE app_owner LOGIN PASSWORD 'owner-secret-1';
CREATE ROLE reader NOLOGIN;
CREATE DATABASE app OWNER app_owner;
CREATE DATABASE analytics;`;

// About 14 MiB of table data owned by a non-default role, with btree indexes, a sequence and
// a view.
const APP_SQL = `
SET ROLE app_owner;
CREATE SEQUENCE invoice_no START 1000;
SELECT setval('invoice_no', 4242);
CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL, email text UNIQUE);
CREATE TABLE orders (id bigint PRIMARY KEY, customer_id int REFERENCES customers, amount numeric(12, 2), note text, placed timestamptz);
INSERT INTO customers SELECT g, 'customer ' || g, 'c' || g || '@example.com' FROM generate_series(1, 20000) g;
INSERT INTO orders SELECT g, 1 + g % 20000, (g % 1000) * 1.25, repeat(md5(g::text), 2), timestamptz '2024-01-01 00:00+00' + g * interval '1 minute' FROM generate_series(1, 130000) g;
CREATE INDEX orders_customer ON orders (customer_id);
CREATE INDEX orders_placed ON orders (placed);
CREATE VIEW big_orders AS SELECT * FROM orders WHERE amount > 1000;
GRANT SELECT ON big_orders TO reader;
RESET ROLE;`;

// About 12 MiB more, owned by postgres, with an identity column and a materialized view.
const ANALYTICS_SQL = `
CREATE TABLE events (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, kind text, payload text, at timestamptz);
INSERT INTO events (kind, payload, at) SELECT (ARRAY['click', 'view', 'buy'])[1 + g % 3], repeat(md5(g::text), 3), timestamptz '2024-01-01 00:00+00' + g * interval '1 second' FROM generate_series(1, 100000) g;
CREATE INDEX events_kind_at ON events (kind, at);
CREATE MATERIALIZED VIEW daily AS SELECT kind, date_trunc('day', at) AS day, count(*) FROM events GROUP BY 1, 2;
COMMENT ON TABLE events IS 'clickstream';`;

const USER_INDEXES = [
  'customers_pkey',
  'customers_email_key',
  'orders_pkey',
  'orders_customer',
  'orders_placed',
  'events_pkey',
  'events_kind_at',
];

async function fill(pg: PgServer): Promise<void> {
  await pg.psql(GLOBAL_SQL);
  await pg.psql(APP_SQL, 'app');
  await pg.psql(ANALYTICS_SQL, 'analytics');
}

function sourceOf(pg: PgServer): DumpSource {
  return createPgLogicalSource({
    host: pg.host,
    port: pg.port,
    user: pg.user,
    password: pg.password,
  });
}

function targetOf(pg: PgServer, extra: Partial<PgTargetOptions> = {}) {
  return createPgLogicalTarget({
    host: pg.host,
    port: pg.port,
    user: pg.user,
    password: pg.password,
    ...extra,
  });
}

// Lines of pg_dumpall that differ between two clusters holding the same data: the random
// \restrict key, the tool's banner, and the superuser's password (each server keeps its own).
const VOLATILE = [
  /^\\(?:un)?restrict /,
  /^-- Dumped (?:from|by) /,
  /^ALTER ROLE postgres WITH .* PASSWORD /,
];

async function dumpallLines(pg: PgServer): Promise<string[]> {
  const args = ['-h', pg.socketDir, '-p', String(pg.port), '-U', 'postgres', '--no-password'];
  const r = await run(join(PG_BIN, 'pg_dumpall'), args, {
    env: { PATH: process.env['PATH'] ?? '', LC_ALL: 'C' },
  });
  assert.equal(r.code, 0, `pg_dumpall failed: ${r.stderr}`);
  return r.stdout.split('\n').filter((l) => !VOLATILE.some((re) => re.test(l)));
}

/** The whole cluster (roles, databases, data, sequence values) equal, as pg_dumpall sees it. */
async function assertSameCluster(source: PgServer, target: PgServer): Promise<void> {
  const [a, b] = await Promise.all([dumpallLines(source), dumpallLines(target)]);
  const i = a.findIndex((line, k) => line !== b[k]);
  if (i >= 0 || a.length !== b.length) {
    const at = i >= 0 ? i : Math.min(a.length, b.length);
    assert.fail(`pg_dumpall differs at line ${at + 1}:\n source: ${a[at]}\n target: ${b[at]}`);
  }
}

/** amcheck on every btree index (with heapallindexed) of the restored databases. */
async function assertIndexesSound(target: PgServer): Promise<void> {
  const checked: string[] = [];
  for (const db of ['app', 'analytics', 'postgres']) {
    const out = await target.psql(
      `CREATE EXTENSION IF NOT EXISTS amcheck;
       SELECT c.relname, bt_index_check(c.oid, true) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
       JOIN pg_am am ON am.oid = c.relam WHERE am.amname = 'btree' AND c.relpersistence <> 't' AND i.indisvalid`,
      db,
    );
    checked.push(...out.split('\n').map((l) => l.replace(/\|$/, '')));
  }
  for (const index of USER_INDEXES) assert.ok(checked.includes(index), `amcheck covered ${index}`);
}

const fixture: EngineFixture = {
  async setup() {
    const source = await startPostgres({ fast: true });
    try {
      const target = await startPostgres({ fast: true });
      await fill(source);
      const closedPort = await freePort();
      return {
        source: sourceOf(source),
        target: targetOf(target),
        async compare() {
          await assertSameCluster(source, target);
          await assertIndexesSound(target);
        },
        unreachable: () =>
          createPgLogicalSource({
            host: '127.0.0.1',
            port: closedPort,
            user: 'postgres',
            password: 'x',
          }),
        breakDuringDump: () => source.kill(),
        async [Symbol.asyncDispose]() {
          await Promise.allSettled([source[Symbol.asyncDispose](), target[Symbol.asyncDispose]()]);
        },
      };
    } catch (e) {
      await source[Symbol.asyncDispose]();
      throw e;
    }
  },
};

engineContract('postgres logical', fixture);

describe('postgres logical engine', () => {
  let source: PgServer;
  let parts: Map<string, Buffer>;

  before(async () => {
    source = await startPostgres({ fast: true });
    await fill(source);
    parts = await dumpAll(sourceOf(source));
  });
  after(async () => {
    await source[Symbol.asyncDispose]();
  });

  test('parts: globals, then each database; at least 20 MiB in all', () => {
    assert.deepEqual(
      [...parts.keys()],
      ['globals.sql', 'db-analytics.pgdump', 'db-app.pgdump', 'db-postgres.pgdump'],
    );
    const total = [...parts.values()].reduce((n, b) => n + b.length, 0);
    assert.ok(total > 20 << 20, `${total} bytes`);
    // Custom format, uncompressed: the table data is there as plain COPY text.
    const app = parts.get('db-app.pgdump')!;
    assert.equal(app.subarray(0, 5).toString(), 'PGDMP');
    assert.ok(app.includes('c19999@example.com'));
  });

  test('restore with pg_restore -j 2 (spooled) gives an equal cluster; compare notices a change', async () => {
    await using target = await startPostgres({ fast: true });
    const outcome = await targetOf(target, { jobs: 2 }).restore([...parts.keys()], readerOf(parts));
    assert.deepEqual(outcome.parts, [...parts.keys()]);
    assert.ok(
      outcome.notes.some((n) =>
        /created database app \(pg_restore --jobs=2 from a temporary copy\)/.test(n),
      ),
      outcome.notes.join('\n'),
    );
    assert.ok(
      outcome.notes.some((n) => /login role postgres kept/.test(n)),
      outcome.notes.join('\n'),
    );
    await assertSameCluster(source, target);
    await assertIndexesSound(target);
    assert.equal(
      await target.psql(`SELECT datdba::regrole FROM pg_database WHERE datname = 'app'`),
      'app_owner',
    );
    // The restored role logs in with its password from the source.
    const asOwner = { host: target.host, port: target.port, user: 'app_owner', databases: ['app'] };
    await createPgLogicalSource({ ...asOwner, password: 'owner-secret-1' }).listParts();
    await assert.rejects(
      createPgLogicalSource({ ...asOwner, password: 'wrong' }).listParts(),
      (e: unknown) => isLifeboatError(e, 'UNREACHABLE'),
    );
    await target.psql(`UPDATE orders SET note = 'changed' WHERE id = 77`, 'app');
    await assert.rejects(assertSameCluster(source, target), /pg_dumpall differs/);
  });

  test('a database that already holds tables is refused before anything changes; force replaces it', async () => {
    await using target = await startPostgres({ fast: true });
    await target.psql('CREATE DATABASE app');
    await target.psql('CREATE TABLE precious (v int); INSERT INTO precious VALUES (1)', 'app');
    await assert.rejects(
      targetOf(target).restore([...parts.keys()], readerOf(parts)),
      (e: unknown) => {
        assert.ok(isLifeboatError(e, 'TARGET_NOT_EMPTY'), String(e));
        assert.match(e.message, /"app" \(1 tables\)/);
        return true;
      },
    );
    // Nothing changed: no roles, no other database, the table still there.
    assert.equal(
      await target.psql(`SELECT count(*) FROM pg_roles WHERE rolname IN ('app_owner', 'reader')`),
      '0',
    );
    assert.equal(
      await target.psql(`SELECT count(*) FROM pg_database WHERE datname = 'analytics'`),
      '0',
    );
    assert.equal(await target.psql('SELECT v FROM precious', 'app'), '1');

    const outcome = await targetOf(target, { force: true }).restore(
      [...parts.keys()],
      readerOf(parts),
    );
    assert.ok(
      outcome.notes.some((n) => /replaced database app, which held 1 tables/.test(n)),
      outcome.notes.join('\n'),
    );
    await assertSameCluster(source, target);
  });

  test('the password is in no process argv or environment while tools run', async () => {
    const secret = source.password;
    const [, app] = await sourceOf(source).listParts();
    let seen: { pgDump: boolean; leaks: string[] } | undefined;
    for await (const _chunk of app!.open()) {
      seen ??= await scanProcesses(secret);
    }
    assert.ok(seen?.pgDump, 'found the running pg_dump and its PGPASSFILE');
    assert.deepEqual(seen.leaks, []);
  });

  test('two dumps of unchanged data differ only in the header time stamp', async () => {
    const [, analytics] = await sourceOf(source).listParts();
    const a = await readPart(analytics!);
    await new Promise((r) => setTimeout(r, 1100)); // so the time stamps differ
    const [, again] = await sourceOf(source).listParts();
    const b = await readPart(again!);
    assert.equal(a.length, b.length);
    const diff: number[] = [];
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) diff.push(i);
    assert.ok(diff.length > 0 && diff.length <= 8, `differing bytes at ${diff.join(', ')}`);
    assert.ok(
      diff.every((i) => i < 64),
      `all in the header: ${diff.join(', ')}`,
    );
  });
});

/** Looks at every process: is the secret in its argv or environment? Is a pg_dump running? */
async function scanProcesses(secret: string): Promise<{ pgDump: boolean; leaks: string[] }> {
  const leaks: string[] = [];
  let pgDump = false;
  for (const pid of (await readdir('/proc')).filter((p) => /^\d+$/.test(p))) {
    const read = (f: string) => readFile(`/proc/${pid}/${f}`).catch(() => Buffer.alloc(0));
    const [cmdline, environ] = await Promise.all([read('cmdline'), read('environ')]);
    if (cmdline.includes(secret))
      leaks.push(`argv of ${pid}: ${cmdline.toString().replace(/\0/g, ' ')}`);
    if (environ.includes(secret)) leaks.push(`environment of ${pid}`);
    if (cmdline.toString().split('\0')[0]?.endsWith('/pg_dump')) {
      const passFile = /(?:^|\0)PGPASSFILE=([^\0]+)/.exec(environ.toString())?.[1];
      if (passFile !== undefined && (await readFile(passFile, 'utf8')).includes(secret))
        pgDump = true;
    }
  }
  return { pgDump, leaks };
}

describe('postgres logical engine: a server killed mid-dump', () => {
  test('makes the database part fail with UNREACHABLE, not end short', async () => {
    await using s = await fixture.setup();
    const parts = await s.source.listParts();
    const app = parts.find((p) => p.name === 'db-app.pgdump')!;
    let bytes = 0;
    await assert.rejects(
      (async () => {
        for await (const chunk of app.open()) {
          if (bytes === 0) await s.breakDuringDump();
          bytes += chunk.length;
        }
      })(),
      (e: unknown) => {
        assert.ok(isLifeboatError(e, 'UNREACHABLE'), String(e));
        assert.match(e.message, /pg_dump of database app \(PostgreSQL at 127\.0\.0\.1:\d+\)/);
        return true;
      },
    );
    assert.ok(bytes < 10 << 20, `stopped early (${bytes} bytes)`);
  });
});
