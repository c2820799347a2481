/**
 * MongoDB as a backup source (issue 3): `mongodump --archive` streamed from stdout. Without
 * `databases` one part `all.archive` holds every database (mongodump leaves out `local`; the
 * `admin` database brings users and roles along); with `databases`, one part
 * `db-<name>.archive` each.
 *
 * `--numParallelCollections=1`: the archive then holds one collection after another instead of
 * interleaving blocks of several collections in whatever order the threads finish, so
 * unchanged data gives the same bytes and deduplicates. No `--gzip`: compressed output would
 * defeat deduplication; the repository compresses.
 *
 * Untested against a real server (none could be installed where this was written): argument
 * building, validation, credentials and streaming are tested with stand-in tools.
 */
import { LifeboatError } from '../../core/errors.js';
import type { DumpSource } from '../engine.js';
import { probeTcp } from '../tcp-probe.js';
import { toolOutput } from '../tool.js';
import { checkIdentifier } from '../validate.js';
import {
  checkMongoLogin,
  classifyMongo,
  mongoTool,
  where,
  withMongoArgs,
  type MongoLogin,
} from './connection.js';

export interface MongoConnection extends MongoLogin {
  /** Databases to back up, each as the part `db-<name>.archive`; default: all, as `all.archive`. */
  readonly databases?: readonly string[];
}

export const ALL_PART = 'all.archive';
export const DUMP_OPTIONS: readonly string[] = ['--archive', '--numParallelCollections=1'];

export function databasePart(name: string): string {
  return `db-${name}.archive`;
}

/** The arguments after the login ones for one part (exported for tests and the target). */
export function dumpArgs(database?: string): string[] {
  return [...DUMP_OPTIONS, ...(database === undefined ? [] : [`--db=${database}`])];
}

/** Runs mongodump and yields the archive. */
export function mongodump(
  login: MongoLogin,
  what: string,
  database?: string,
  signal?: AbortSignal,
): AsyncIterable<Uint8Array> {
  const command = mongoTool('mongodump', login.binDir);
  return withMongoArgs(login, (args) =>
    toolOutput(
      { command, args: [...args, ...dumpArgs(database)], what, classify: classifyMongo },
      signal,
    ),
  );
}

/** Validates everything up front (INVALID_ARGUMENT); nothing runs until listParts. */
export function createMongoSource(conn: MongoConnection, what = 'mongodb source'): DumpSource {
  checkMongoLogin(what, conn);
  conn.databases?.forEach((db, i) => checkIdentifier(`${what}.databases[${i}]`, db));
  return {
    kind: 'mongodb',
    async listParts(signal) {
      // mongodump has no cheap "ping" and waits 30 s for server selection; a TCP connect tells
      // a closed port at once. A refused login shows when the part is opened (UNREACHABLE).
      const probe = await probeTcp(conn.host, conn.port, 5000, signal);
      if (!probe.open) {
        throw new LifeboatError(
          'UNREACHABLE',
          `${what}: nothing answers on ${where(conn)} (${probe.reason})`,
          {
            details: { host: conn.host, port: conn.port },
          },
        );
      }
      if (conn.databases === undefined) {
        return [
          {
            name: ALL_PART,
            open: (s) => mongodump(conn, `mongodump of ${where(conn)}`, undefined, s),
          },
        ];
      }
      return [...new Set(conn.databases)].sort().map((db) => ({
        name: databasePart(db),
        open: (s) => mongodump(conn, `mongodump of database ${db} on ${where(conn)}`, db, s),
      }));
    },
  };
}
