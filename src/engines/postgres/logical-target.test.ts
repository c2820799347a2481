import assert from 'node:assert/strict';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { isLifeboatError } from '../../core/errors.js';
import { createPgLogicalTarget, prepareGlobals, splitScript } from './logical-target.js';

// What pg_dumpall 15.20 --globals-only prints, plus a role whose name needs quotes and a
// comment whose text looks like statements.
const GLOBALS = `--
-- PostgreSQL database cluster dump
--

\\restrict Su8GcctZBSHgagYdkdBUWzE7Y4of

SET default_transaction_read_only = off;

SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;

--
-- Roles
--

CREATE ROLE app_owner;
ALTER ROLE app_owner WITH NOSUPERUSER INHERIT NOCREATEROLE NOCREATEDB LOGIN NOREPLICATION NOBYPASSRLS PASSWORD 'SCRAM-SHA-256$4096:abc$def:ghi';
CREATE ROLE postgres;
ALTER ROLE postgres WITH SUPERUSER INHERIT CREATEROLE CREATEDB LOGIN REPLICATION BYPASSRLS PASSWORD 'SCRAM-SHA-256$4096:xyz';
CREATE ROLE "Odd""Name";
ALTER ROLE "Odd""Name" WITH NOLOGIN;
COMMENT ON ROLE app_owner IS 'it''s
CREATE ROLE postgres;
ALTER ROLE postgres WITH NOLOGIN;
';

\\unrestrict Su8GcctZBSHgagYdkdBUWzE7Y4of

--
-- PostgreSQL database cluster dump complete
--

`;

test('splitScript finds statements, meta-commands and gaps as psql would', () => {
  const units = splitScript(GLOBALS);
  assert.equal(units.map((u) => u.text).join(''), GLOBALS, 'nothing lost');
  const sql = units.filter((u) => u.kind === 'sql').map((u) => u.text);
  assert.equal(sql.length, 10);
  assert.ok(sql[9]!.startsWith('COMMENT ON ROLE app_owner IS'));
  assert.deepEqual(
    units.filter((u) => u.kind === 'meta').map((u) => u.text.trim()),
    ['\\restrict Su8GcctZBSHgagYdkdBUWzE7Y4of', '\\unrestrict Su8GcctZBSHgagYdkdBUWzE7Y4of'],
  );
});

test('splitScript handles escapes, dollar quotes and nested comments', () => {
  const text = `SELECT E'a\\';b'; SELECT $x$ ; \\ $x$; SELECT /* a /* ; */ ; */ "q;""" -- ;\n;\nSET standard_conforming_strings = off;\nSELECT 'c\\';d';`;
  const sql = splitScript(text)
    .filter((u) => u.kind === 'sql')
    .map((u) => u.text);
  assert.deepEqual(sql, [
    "SELECT E'a\\';b';",
    'SELECT $x$ ; \\ $x$;',
    'SELECT /* a /* ; */ ; */ "q;""" -- ;\n;',
    'SET standard_conforming_strings = off;',
    "SELECT 'c\\';d';",
  ]);
});

test('splitScript refuses truncated scripts and meta-commands inside statements', () => {
  for (const bad of [
    'CREATE ROLE a',
    "SELECT 'open;",
    'SELECT 1 \\! rm -rf /tmp/x\n;',
    '/* open',
    'SELECT $q$ x;',
  ]) {
    assert.throws(
      () => splitScript(bad),
      (e: unknown) => isLifeboatError(e, 'INTEGRITY'),
      bad,
    );
  }
});

test('prepareGlobals skips CREATE for existing roles and keeps our own login role as it is', () => {
  const out = prepareGlobals(GLOBALS, {
    existingRoles: new Set(['postgres', 'Odd"Name']),
    ownRole: 'postgres',
  });
  assert.deepEqual(out.existing, ['postgres', 'Odd"Name']);
  assert.equal(out.ownRoleKept, true);
  assert.ok(out.script.includes('CREATE ROLE app_owner;\nALTER ROLE app_owner WITH'));
  assert.ok(!out.script.includes('CREATE ROLE "Odd""Name";'));
  assert.ok(out.script.includes('ALTER ROLE "Odd""Name" WITH NOLOGIN;'));
  assert.ok(
    !out.script.includes("PASSWORD 'SCRAM-SHA-256$4096:xyz'"),
    'the source superuser password is not set',
  );
  // The look-alike lines inside the comment's string literal are data, left alone.
  assert.ok(
    out.script.includes("'it''s\nCREATE ROLE postgres;\nALTER ROLE postgres WITH NOLOGIN;\n'"),
  );
  // On a target without those roles, everything is kept but our own ALTER.
  const fresh = prepareGlobals(GLOBALS, { existingRoles: new Set(), ownRole: 'admin' });
  assert.equal(fresh.script, GLOBALS);
  assert.equal(fresh.ownRoleKept, false);
});

test('prepareGlobals refuses psql commands other than \\restrict and \\unrestrict', () => {
  for (const meta of [
    '\\! touch /tmp/pwned',
    '\\connect other',
    "\\copy t from program 'x'",
    '\\i /etc/passwd',
  ]) {
    assert.throws(
      () =>
        prepareGlobals(`SET x = 1;\n${meta}\n`, { existingRoles: new Set(), ownRole: 'postgres' }),
      (e: unknown) => isLifeboatError(e, 'INTEGRITY'),
      meta,
    );
  }
});

test('target settings and part names are checked before any tool runs', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'lifeboat-fakepg-'));
  try {
    const marker = join(dir, 'ran');
    for (const tool of ['psql', 'pg_restore']) {
      await writeFile(join(dir, tool), `#!/bin/sh\necho "$0" >> ${marker}\nexit 1\n`);
      await chmod(join(dir, tool), 0o755);
    }
    const base = { host: '127.0.0.1', port: 5432, user: 'postgres', binDir: dir };
    for (const conn of [
      { ...base, user: '-fx' },
      { ...base, host: "x' OR 1=1" },
      { ...base, jobs: 0 },
      { ...base, jobs: 1.5 },
    ]) {
      assert.throws(
        () => createPgLogicalTarget(conn),
        (e: unknown) => isLifeboatError(e, 'INVALID_ARGUMENT'),
      );
    }
    const target = createPgLogicalTarget(base);
    const read = () => {
      throw new Error('no part should be read');
    };
    for (const parts of [
      ["db-x' OR 1=1.pgdump"],
      ['globals.sql', 'db--fx.pgdump'],
      ['db-app.pgdump', 'db-app.pgdump'],
      ['notes.txt'],
      [`db-${'a'.repeat(65536)}.pgdump`],
    ]) {
      await assert.rejects(target.restore(parts, read), (e: unknown) =>
        isLifeboatError(e, 'INVALID_ARGUMENT'),
      );
    }
    await assert.rejects(readFile(marker), { code: 'ENOENT' }, 'no tool ran');
    // Sane input does reach the (failing) tool, so the check above could fail.
    await assert.rejects(target.restore(['db-app.pgdump'], read));
    assert.match(await readFile(marker, 'utf8'), /psql/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
