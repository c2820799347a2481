/**
 * The PostgreSQL logical backup source (issue 3): roles and tablespaces from
 * `pg_dumpall --globals-only`, then one `pg_dump` per database in custom format without
 * compression, streamed from the tool's stdout. Uncompressed on purpose: the repository
 * compresses, and unchanged table data then yields the same bytes in every run, so it dedupes
 * (the custom-format header holds the dump time, a few bytes at the start).
 */
import { LifeboatError } from '../../core/errors.js';
import type { BackupPart, DumpSource } from '../engine.js';
import { toolOutput } from '../tool.js';
import { checkIdentifier } from '../validate.js';
import {
  classifyPgFailure,
  compilePgConnection,
  openPgSession,
  pgTool,
  queryJson,
  type PgConnection,
  type PgSettings,
} from './connection.js';

export const GLOBALS_PART = 'globals.sql';
const DB_PART = /^db-(.+)\.pgdump$/;

/** The part name for one database: `db-<name>.pgdump` (names are validated identifiers). */
export function databasePart(database: string): string {
  return `db-${database}.pgdump`;
}

/** The database a part name stands for, undefined for globals.sql; checks the name. */
export function partDatabase(part: string): string | undefined {
  if (part === GLOBALS_PART) return undefined;
  const m = DB_PART.exec(part);
  if (!m?.[1]) {
    throw new LifeboatError(
      'INVALID_ARGUMENT',
      `"${part.slice(0, 80)}" is not a part of a PostgreSQL logical backup (expected ${GLOBALS_PART} or db-<name>.pgdump)`,
      { details: { part: part.slice(0, 200) } },
    );
  }
  return checkIdentifier(`database of part ${part.slice(0, 80)}`, m[1]);
}

// Ordered by name (type "name" sorts bytewise), so part order is stable across runs.
const LIST_SQL = `SELECT coalesce(json_agg(json_build_array(datname, datallowconn, datistemplate) ORDER BY datname), '[]') FROM pg_database`;

interface DatabaseRow {
  name: string;
  allowConn: boolean;
  template: boolean;
}

function parseDatabases(value: unknown, settings: PgSettings): DatabaseRow[] {
  const rows: DatabaseRow[] = [];
  if (!Array.isArray(value)) throw badList(settings);
  for (const row of value as unknown[]) {
    if (!Array.isArray(row)) throw badList(settings);
    const [name, allowConn, template] = row as unknown[];
    if (typeof name !== 'string' || typeof allowConn !== 'boolean' || typeof template !== 'boolean')
      throw badList(settings);
    rows.push({ name, allowConn, template });
  }
  return rows;
}

function badList(settings: PgSettings): LifeboatError {
  return new LifeboatError(
    'TOOL_FAILED',
    `listing databases of ${settings.label}: unexpected answer`,
  );
}

/** Checks the server answers and returns the databases to dump, in order. */
async function databasesToDump(settings: PgSettings, signal?: AbortSignal): Promise<string[]> {
  await using session = await openPgSession(settings);
  const what = 'listing databases';
  const rows = parseDatabases(
    await queryJson(settings, session, 'postgres', LIST_SQL, what, signal),
    settings,
  );
  if (settings.databases === undefined) {
    return rows
      .filter((r) => r.allowConn && !r.template)
      .map((r) => checkIdentifier(`database found on ${settings.label}`, r.name));
  }
  const missing = settings.databases.filter((d) => !rows.some((r) => r.name === d && r.allowConn));
  if (missing.length > 0) {
    throw new LifeboatError(
      'NOT_FOUND',
      `${settings.label}: no database ${missing.map((d) => `"${d}"`).join(', ')} that accepts connections`,
      { details: { databases: missing } },
    );
  }
  return [...settings.databases];
}

function part(name: string, run: (signal?: AbortSignal) => AsyncIterable<Uint8Array>): BackupPart {
  let opened = false;
  return {
    name,
    open(signal) {
      if (opened) throw new LifeboatError('INTERNAL', `part ${name} opened twice`);
      opened = true;
      return run(signal);
    },
  };
}

/** One tool's stdout, with the session (password file) kept until the iteration ends. */
async function* dumpWith(
  settings: PgSettings,
  command: string,
  args: string[],
  database: string | undefined,
  what: string,
  signal?: AbortSignal,
): AsyncGenerator<Uint8Array> {
  await using session = await openPgSession(settings);
  yield* toolOutput(
    {
      command: pgTool(settings, command),
      args,
      env: session.env(database),
      what: `${what} (${settings.label})`,
      classify: classifyPgFailure,
    },
    signal,
  );
}

/**
 * A DumpSource for one PostgreSQL server. Validates the connection now (INVALID_ARGUMENT,
 * before any tool runs). Dumping needs a superuser: pg_dumpall reads role password hashes.
 */
export function createPgLogicalSource(conn: PgConnection): DumpSource {
  const settings = compilePgConnection(conn);
  return {
    kind: 'postgres',
    async listParts(signal) {
      const databases = await databasesToDump(settings, signal);
      // Role passwords are kept (no --no-role-passwords) so a restore is complete.
      const globals = part(GLOBALS_PART, (s) =>
        dumpWith(
          settings,
          'pg_dumpall',
          ['--globals-only', '--no-password'],
          undefined,
          'pg_dumpall --globals-only',
          s,
        ),
      );
      const dbs = databases.map((db) =>
        part(databasePart(db), (s) =>
          // Custom format for pg_restore (and its -j); -Z0 so the repository's chunker sees
          // the raw table data. The database name reaches pg_dump through PGDATABASE only.
          dumpWith(
            settings,
            'pg_dump',
            ['--format=custom', '--compress=0', '--no-password'],
            db,
            `pg_dump of database ${db}`,
            s,
          ),
        ),
      );
      return [globals, ...dbs];
    },
  };
}
