/**
 * MariaDB/MySQL as a backup source (issue 3): one `db-<name>.sql` part per database, dumped by
 * mariadb-dump (or mysqldump) in one consistent transaction, plus a `users.sql` part with the
 * accounts and grants when the whole server is backed up.
 *
 * Dump options and why:
 * - --single-transaction: a consistent InnoDB snapshot without locking writers.
 * - --routines --events --triggers: the whole schema, not just tables.
 * - --hex-blob: binary columns as hex, so the text survives any client charset.
 * - --quick: rows stream from the server instead of being buffered in the tool.
 * - --skip-dump-date, --order-by-primary, --default-character-set=utf8mb4: the same data gives
 *   the same bytes, so unchanged tables deduplicate completely.
 * - --skip-extended-insert: one row per line; a changed row changes only its line (see
 *   batch-inserts.ts for the measurements and how the restore regains the speed).
 * - --no-autocommit: one transaction per table, so even a plain `mariadb < part` replays fast.
 * - --databases <name>: the part carries CREATE DATABASE (with its charset) and USE.
 */
import { LifeboatError } from '../../core/errors.js';
import type { BackupPart, DumpSource } from '../engine.js';
import { toolOutput } from '../tool.js';
import { checkIdentifier } from '../validate.js';
import {
  checkLogin,
  classifyMariadb,
  findTool,
  query,
  where,
  withLoginArgsGen,
  type MariadbLogin,
} from './connection.js';
import { accountsQuery, selectAccounts, showScript, usersPart, type Flavour } from './users.js';

export interface MariadbConnection extends MariadbLogin {
  /**
   * Databases to back up, each as the part `db-<name>.sql`. Default: every database except
   * information_schema, performance_schema, sys and mysql (accounts come as users.sql instead).
   */
  readonly databases?: readonly string[];
  /** Add the part `users.sql` (accounts, roles, grants). Default: when `databases` is not set. */
  readonly users?: boolean;
}

export const DUMP_OPTIONS: readonly string[] = [
  '--single-transaction',
  '--routines',
  '--events',
  '--triggers',
  '--hex-blob',
  '--quick',
  '--skip-dump-date',
  '--order-by-primary',
  '--default-character-set=utf8mb4',
  '--skip-extended-insert',
  '--no-autocommit',
];

const SYSTEM_DATABASES = new Set(['information_schema', 'performance_schema', 'sys', 'mysql']);
export const USERS_PART = 'users.sql';

export function databasePart(name: string): string {
  return `db-${name}.sql`;
}

/** Validates everything up front (INVALID_ARGUMENT); nothing runs until listParts. */
export function createMariadbSource(conn: MariadbConnection, what = 'mariadb source'): DumpSource {
  checkLogin(what, conn);
  conn.databases?.forEach((db, i) => checkIdentifier(`${what}.databases[${i}]`, db));
  const withUsers = conn.users ?? conn.databases === undefined;
  return {
    kind: 'mariadb',
    async listParts(signal) {
      const rows = await query(
        conn,
        "SELECT 'v', VERSION() UNION ALL SELECT 'd', SCHEMA_NAME FROM information_schema.SCHEMATA;",
        `listing the databases on ${where(conn)}`,
        signal,
      );
      const flavour: Flavour = rows.some(([k, v]) => k === 'v' && /mariadb/i.test(v ?? ''))
        ? 'mariadb'
        : 'mysql';
      const present = new Set(rows.filter(([k]) => k === 'd').map(([, name]) => name ?? ''));
      const names = conn.databases
        ? [...new Set(conn.databases)]
        : [...present].filter((n) => !SYSTEM_DATABASES.has(n));
      for (const name of names) {
        if (!present.has(name)) {
          throw new LifeboatError(
            'NOT_FOUND',
            `${what}: database ${name} does not exist on ${where(conn)}`,
            {
              details: { database: name },
            },
          );
        }
        if (conn.databases === undefined) {
          // A name from the server reaches mariadb-dump's argv: it must pass the same check.
          try {
            checkIdentifier('database', name);
          } catch (e) {
            throw new LifeboatError(
              'INVALID_ARGUMENT',
              `${what}: database ${JSON.stringify(name)} on ${where(conn)} has a name Lifeboat does not pass to mariadb-dump; list the databases to back up in "databases" to leave it out`,
              { cause: e },
            );
          }
        }
      }
      names.sort();
      const parts: BackupPart[] = names.map((name) => ({
        name: databasePart(name),
        open: (s) => dumpDatabase(conn, name, s),
      }));
      if (withUsers) parts.push({ name: USERS_PART, open: (s) => dumpUsers(conn, flavour, s) });
      return parts;
    },
  };
}

function dumpDatabase(
  conn: MariadbLogin,
  name: string,
  signal?: AbortSignal,
): AsyncIterable<Uint8Array> {
  const command = findTool(['mariadb-dump', 'mysqldump'], conn.binDir);
  return withLoginArgsGen(conn, (args) =>
    toolOutput(
      {
        command,
        args: [...args, ...DUMP_OPTIONS, '--databases', name],
        what: `dump of database ${name} on ${where(conn)}`,
        classify: classifyMariadb,
      },
      signal,
    ),
  );
}

async function* dumpUsers(
  conn: MariadbLogin,
  flavour: Flavour,
  signal?: AbortSignal,
): AsyncGenerator<Uint8Array> {
  const accounts = selectAccounts(
    await query(conn, accountsQuery(flavour), `listing the accounts on ${where(conn)}`, signal),
  );
  const statements =
    accounts.length === 0
      ? []
      : (
          await query(
            conn,
            showScript(accounts, flavour),
            `reading the grants on ${where(conn)}`,
            signal,
          )
        ).map((row) => row.join('\t'));
  yield Buffer.from(usersPart(accounts, statements));
}
