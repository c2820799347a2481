/**
 * The PostgreSQL logical restore target (issue 3): globals.sql through psql, then each
 * db-<name>.pgdump through `pg_restore --create`, which recreates the database with its
 * owner, encoding, locale, ACL and settings as dumped. Refuses (TARGET_NOT_EMPTY) before
 * changing anything when a database to restore already holds tables, unless `force`.
 */
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { LifeboatError } from '../../core/errors.js';
import type { PartReader, RestoreOutcome, RestoreTarget } from '../engine.js';
import { createPrivateDir } from '../private-dir.js';
import { runTool } from '../tool.js';
import {
  classifyPgFailure,
  classifyPsqlFailure,
  compilePgConnection,
  openPgSession,
  pgTool,
  queryJson,
  type PgConnection,
  type PgSession,
  type PgSettings,
} from './connection.js';
import { partDatabase } from './logical-source.js';

export interface PgTargetOptions extends PgConnection {
  /**
   * pg_restore --jobs. 1 (default) streams each part into pg_restore; more spools each part
   * to a file in a private temp dir first (pg_restore -j needs a seekable file), which costs
   * the part's size in temp space and its removal afterwards.
   */
  jobs?: number;
  /** Replace databases that already hold tables (they are dropped and recreated). */
  force?: boolean;
}

/** globals.sql is read into memory to be checked; a cluster's roles fit easily in this. */
const MAX_GLOBALS = 64 << 20;

const TARGET_SQL = `SELECT json_build_object(
  'roles', (SELECT coalesce(json_agg(rolname), '[]') FROM pg_roles),
  'databases', (SELECT coalesce(json_agg(json_build_array(datname, datallowconn)), '[]') FROM pg_database))`;

// Tables, partitioned tables and materialized views a user made (not those of extensions).
const USER_TABLES_SQL = `SELECT to_json(count(*)) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'p', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname !~ '^pg_(toast|temp_)'
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')`;

interface TargetState {
  roles: Set<string>;
  /** Existing databases: name → accepts connections. */
  databases: Map<string, boolean>;
}

function parseState(value: unknown, settings: PgSettings): TargetState {
  const bad = () =>
    new LifeboatError('TOOL_FAILED', `inspecting ${settings.label}: unexpected answer`);
  if (typeof value !== 'object' || value === null) throw bad();
  const { roles, databases } = value as { roles?: unknown; databases?: unknown };
  if (!Array.isArray(roles) || !Array.isArray(databases)) throw bad();
  const state: TargetState = { roles: new Set(), databases: new Map() };
  for (const r of roles as unknown[]) {
    if (typeof r !== 'string') throw bad();
    state.roles.add(r);
  }
  for (const d of databases as unknown[]) {
    const [name, allowConn] = Array.isArray(d) ? (d as unknown[]) : [];
    if (typeof name !== 'string' || typeof allowConn !== 'boolean') throw bad();
    state.databases.set(name, allowConn);
  }
  return state;
}

async function readText(chunks: AsyncIterable<Uint8Array>, part: string): Promise<string> {
  const bufs: Buffer[] = [];
  let size = 0;
  for await (const c of chunks) {
    size += c.length;
    if (size > MAX_GLOBALS) {
      throw new LifeboatError('UNSUPPORTED', `${part} is larger than ${MAX_GLOBALS} bytes`);
    }
    bufs.push(Buffer.from(c));
  }
  return Buffer.concat(bufs).toString('utf8');
}

/** One piece of a psql script: whitespace/comments, an SQL statement, or a meta-command line. */
interface ScriptUnit {
  readonly kind: 'gap' | 'sql' | 'meta';
  readonly text: string;
}

function malformed(why: string): LifeboatError {
  return new LifeboatError('INTEGRITY', `globals.sql: ${why}; refusing to run it`);
}

const isIdentChar = (c: string | undefined) => c !== undefined && /[A-Za-z0-9_$]/.test(c);

/** Index just past the end of the comment, literal or identifier that starts at `i`. */
function skipToken(text: string, i: number, standardStrings: boolean): number {
  const c = text[i];
  if (c === '-' && text[i + 1] === '-') {
    const e = text.indexOf('\n', i);
    return e < 0 ? text.length : e + 1;
  }
  if (c === '/' && text[i + 1] === '*') {
    let depth = 0; // block comments nest in PostgreSQL
    for (let j = i; j < text.length - 1; j++) {
      const pair = text.slice(j, j + 2);
      if (pair === '/*') depth++;
      else if (pair === '*/') depth--;
      else continue;
      j++;
      if (depth === 0) return j + 1;
    }
    throw malformed('unterminated comment');
  }
  if (c === "'" || c === '"') {
    const prev = text[i - 1];
    const escapes =
      c === "'" &&
      (!standardStrings || ((prev === 'E' || prev === 'e') && !isIdentChar(text[i - 2])));
    for (let j = i + 1; j < text.length; j++) {
      if (escapes && text[j] === '\\') j++;
      else if (text[j] === c) {
        if (text[j + 1] !== c) return j + 1;
        j++; // a doubled quote stands for itself
      }
    }
    throw malformed('unterminated quoted string');
  }
  if (c === '$' && !isIdentChar(text[i - 1])) {
    const tag = /^\$(?:[A-Za-z_][A-Za-z0-9_]*)?\$/.exec(text.slice(i, i + 64))?.[0];
    if (tag !== undefined) {
      const end = text.indexOf(tag, i + tag.length);
      if (end < 0) throw malformed('unterminated dollar-quoted string');
      return end + tag.length;
    }
  }
  return i + 1;
}

/**
 * Splits a psql script into statements, meta-command lines and the gaps between them, the
 * way psql reads it (quotes, comments and dollar quotes hide ";" and "\"). Throws INTEGRITY
 * for a truncated script or a meta-command inside a statement.
 */
export function splitScript(text: string): ScriptUnit[] {
  const units: ScriptUnit[] = [];
  let standardStrings = true;
  let i = 0;
  while (i < text.length) {
    const gap = i;
    while (i < text.length) {
      if (/\s/.test(text[i] ?? '')) i++;
      else if (text.startsWith('--', i) || text.startsWith('/*', i)) i = skipToken(text, i, true);
      else break;
    }
    if (i > gap) units.push({ kind: 'gap', text: text.slice(gap, i) });
    if (i >= text.length) break;
    const start = i;
    if (text[i] === '\\') {
      const e = text.indexOf('\n', i);
      i = e < 0 ? text.length : e + 1;
      units.push({ kind: 'meta', text: text.slice(start, i) });
      continue;
    }
    for (;;) {
      if (i >= text.length) throw malformed('the last statement has no ";" (truncated?)');
      const c = text[i];
      if (c === ';') break;
      if (c === '\\') throw malformed('a psql meta-command inside a statement');
      i = skipToken(text, i, standardStrings);
    }
    i++;
    const sql = text.slice(start, i);
    const scs = /^SET standard_conforming_strings = (on|off);$/i.exec(sql)?.[1];
    if (scs !== undefined) standardStrings = scs.toLowerCase() === 'on';
    units.push({ kind: 'sql', text: sql });
  }
  return units;
}

const IDENT = String.raw`("(?:[^"]|"")+"|[a-z_][a-z0-9_$]*)`;
const CREATE_ROLE = new RegExp(`^CREATE ROLE ${IDENT};$`);
const ALTER_ROLE_WITH = new RegExp(`^ALTER ROLE ${IDENT} WITH `);
// pg_dumpall (15.14+ and the other August 2025 releases) fences its output with a random key.
const ALLOWED_META = /^\\(?:restrict|unrestrict) [A-Za-z0-9]+\s*$/;

function unquote(ident: string): string {
  return ident.startsWith('"') ? ident.slice(1, -1).replace(/""/g, '"') : ident;
}

/**
 * Adapts pg_dumpall's globals for a target that already has some roles. pg_dumpall writes
 * `CREATE ROLE x;` then `ALTER ROLE x WITH …` and expects the CREATE to fail for roles that
 * exist; we drop those CREATEs instead, so the script runs with ON_ERROR_STOP and any other
 * error stops it. The ALTER of the role we log in as is dropped too: it would set the
 * source's password and lock us (and the caller) out of the target.
 */
export function prepareGlobals(
  text: string,
  target: { existingRoles: ReadonlySet<string>; ownRole: string },
): { script: string; existing: string[]; ownRoleKept: boolean } {
  const existing: string[] = [];
  let ownRoleKept = false;
  const kept: string[] = [];
  for (const unit of splitScript(text)) {
    if (unit.kind === 'meta' && !ALLOWED_META.test(unit.text)) {
      throw malformed(`unexpected psql command ${JSON.stringify(unit.text.trim().slice(0, 40))}`);
    }
    if (unit.kind === 'sql') {
      const created = CREATE_ROLE.exec(unit.text)?.[1];
      if (created !== undefined && target.existingRoles.has(unquote(created))) {
        existing.push(unquote(created));
        continue;
      }
      const altered = ALTER_ROLE_WITH.exec(unit.text)?.[1];
      if (altered !== undefined && unquote(altered) === target.ownRole) {
        ownRoleKept = true;
        continue;
      }
    }
    kept.push(unit.text);
  }
  return { script: kept.join(''), existing, ownRoleKept };
}

export function createPgLogicalTarget(options: PgTargetOptions): RestoreTarget {
  const settings = compilePgConnection(options, 'postgres target');
  const jobs = options.jobs ?? 1;
  if (!Number.isInteger(jobs) || jobs < 1 || jobs > 64) {
    throw new LifeboatError(
      'INVALID_ARGUMENT',
      `postgres target.jobs: ${jobs} is not a whole number from 1 to 64`,
      {
        details: { setting: 'postgres target.jobs' },
      },
    );
  }
  const force = options.force === true;
  const tool = (name: string) => pgTool(settings, name);

  async function checkEmpty(
    session: PgSession,
    state: TargetState,
    databases: string[],
    signal?: AbortSignal,
  ): Promise<Map<string, number>> {
    const tables = new Map<string, number>();
    const full: string[] = [];
    for (const db of databases) {
      const allowConn = state.databases.get(db);
      if (allowConn === undefined) continue;
      if (!allowConn) {
        throw new LifeboatError(
          'TARGET_IN_USE',
          `${settings.label}: database "${db}" exists and does not accept connections (a template?); not restoring over it`,
        );
      }
      const n = Number(
        await queryJson(settings, session, db, USER_TABLES_SQL, 'counting tables', signal),
      );
      tables.set(db, n);
      if (n > 0) full.push(`"${db}" (${n} tables)`);
    }
    if (full.length > 0 && !force) {
      throw new LifeboatError(
        'TARGET_NOT_EMPTY',
        `${settings.label}: database ${full.join(', ')} already holds data; nothing was changed (force replaces it)`,
        { details: { databases: [...tables.entries()].filter(([, n]) => n > 0).map(([d]) => d) } },
      );
    }
    return tables;
  }

  async function restoreGlobals(
    session: PgSession,
    state: TargetState,
    part: string,
    read: PartReader,
    signal?: AbortSignal,
  ): Promise<string[]> {
    const text = await readText(read(part, signal), part);
    const prepared = prepareGlobals(text, { existingRoles: state.roles, ownRole: settings.user });
    await runTool(
      {
        command: tool('psql'),
        args: ['-X', '-w', '-q', '-v', 'ON_ERROR_STOP=1', '--file=-'],
        env: session.env('postgres'),
        what: `restoring ${part} with psql (${settings.label})`,
        classify: classifyPsqlFailure,
      },
      { input: prepared.script, ...(signal ? { signal } : {}) },
    );
    const notes = [`${part}: restored roles and tablespaces`];
    if (prepared.existing.length > 0) {
      notes.push(
        `${part}: roles that already existed were updated, not created: ${prepared.existing.join(', ')}`,
      );
    }
    if (prepared.ownRoleKept) {
      notes.push(`${part}: the login role ${settings.user} kept its own password and attributes`);
    }
    return notes;
  }

  async function restoreDatabase(
    session: PgSession,
    db: string,
    existingTables: number | undefined,
    part: string,
    read: PartReader,
    signal?: AbortSignal,
  ): Promise<string> {
    // --create issues CREATE DATABASE from the maintenance database, then switches to the new
    // one; --clean --if-exists drops an existing one first (we checked it may go). The
    // "postgres" database itself can only be dropped while connected elsewhere.
    const maintenance = db === 'postgres' ? 'template1' : 'postgres';
    const args = ['--no-password', '--exit-on-error', '--create'];
    if (existingTables !== undefined) args.push('--clean', '--if-exists');
    // An empty --dbname makes pg_restore connect (rather than print SQL) with every setting,
    // the database included, taken from the PG* environment.
    args.push('--dbname=');
    const command = {
      command: tool('pg_restore'),
      env: session.env(maintenance),
      what: `pg_restore of ${part} (${settings.label})`,
      classify: classifyPgFailure,
    };
    const opts = signal ? { signal } : {};
    if (jobs === 1) {
      await runTool({ ...command, args }, { ...opts, input: read(part, signal) });
    } else {
      await using spool = await createPrivateDir();
      const file = join(spool.path, 'part.pgdump');
      await pipeline(
        Readable.from(read(part, signal)),
        createWriteStream(file, { mode: 0o600, flags: 'wx' }),
        opts,
      );
      await runTool({ ...command, args: [...args, `--jobs=${jobs}`, file] }, opts);
    }
    const how = jobs === 1 ? '' : ` (pg_restore --jobs=${jobs} from a temporary copy)`;
    if (existingTables === undefined) return `${part}: created database ${db}${how}`;
    return existingTables > 0
      ? `${part}: replaced database ${db}, which held ${existingTables} tables (force)${how}`
      : `${part}: replaced database ${db}, which existed without tables${how}`;
  }

  return {
    kind: 'postgres',
    async restore(parts, read, signal): Promise<RestoreOutcome> {
      // Every name is checked before anything runs: part names come from a snapshot.
      const plan = parts.map((part) => ({ part, db: partDatabase(part) }));
      const seen = new Set<string>();
      for (const { part } of plan) {
        if (seen.has(part))
          throw new LifeboatError('INVALID_ARGUMENT', `part ${part} is listed twice`);
        seen.add(part);
      }
      await using session = await openPgSession(settings);
      const state = parseState(
        await queryJson(
          settings,
          session,
          'postgres',
          TARGET_SQL,
          'inspecting the restore target',
          signal,
        ),
        settings,
      );
      const dbs = plan.flatMap((p) => (p.db === undefined ? [] : [p.db]));
      const tables = await checkEmpty(session, state, dbs, signal);
      const notes: string[] = [];
      for (const { part, db } of plan) {
        if (db === undefined)
          notes.push(...(await restoreGlobals(session, state, part, read, signal)));
        else notes.push(await restoreDatabase(session, db, tables.get(db), part, read, signal));
      }
      return { parts: [...parts], notes };
    },
  };
}
