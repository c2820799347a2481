/**
 * The engine registry (STYLE.md habit 8: registered explicitly): which engine produces the
 * backup of a plan source, and which consumes it on restore. Secrets are resolved by the
 * caller and passed in; engines never see the plan or the repository.
 */
import { LifeboatError } from '../core/errors.js';
import type { DumpSource, RestoreTarget } from '../engines/engine.js';
import { createPgLogicalSource } from '../engines/postgres/logical-source.js';
import { createPgLogicalTarget } from '../engines/postgres/logical-target.js';
import { createMariadbSource } from '../engines/mariadb/source.js';
import { createMariadbTarget } from '../engines/mariadb/target.js';
import { createMongoSource } from '../engines/mongodb/source.js';
import { createMongoTarget } from '../engines/mongodb/target.js';
import { createRedisSource } from '../engines/redis/source.js';
import { createRedisTarget } from '../engines/redis/target.js';
import type { PgConnection } from '../engines/postgres/connection.js';
import type { DatabaseSource, PostgresSource } from '../plan/plan.js';

/** Where a restore goes, as given on the command line (`--to`, `--port`, …). */
export interface TargetSpec {
  /** host:port for servers (PostgreSQL logical, MariaDB, MongoDB); a directory for Redis. */
  readonly to: string;
  readonly port?: number;
  readonly user?: string;
  readonly password?: string;
  readonly force: boolean;
  readonly jobs?: number;
}

/** The PostgreSQL connection of a plan source, with its resolved password. */
export function pgConnectionOf(source: PostgresSource, password: string | undefined): PgConnection {
  return {
    host: source.host,
    port: source.port,
    user: source.user,
    ...(password === undefined ? {} : { password }),
    ...(source.databases ? { databases: source.databases } : {}),
    ...(source.binDir ? { binDir: source.binDir } : {}),
  };
}

export function dumpSourceFor(source: DatabaseSource, password: string | undefined): DumpSource {
  const pw = password === undefined ? {} : { password };
  const bin = source.binDir ? { binDir: source.binDir } : {};
  switch (source.type) {
    case 'postgres':
      if (source.mode === 'physical') {
        throw new LifeboatError('INTERNAL', 'physical PostgreSQL backups do not use a dump source');
      }
      return createPgLogicalSource(pgConnectionOf(source, password));
    case 'mariadb':
      return createMariadbSource(
        {
          host: source.host,
          port: source.port,
          user: source.user,
          ...pw,
          ...(source.databases ? { databases: source.databases } : {}),
          ...bin,
        },
        'mariadb source',
      );
    case 'redis':
      return createRedisSource(
        {
          host: source.host,
          port: source.port,
          ...(source.user === undefined ? {} : { username: source.user }),
          ...pw,
          ...bin,
        },
        'redis source',
      );
    case 'mongodb':
      return createMongoSource(
        {
          host: source.host,
          port: source.port,
          ...(source.user === undefined ? {} : { username: source.user }),
          ...pw,
          authenticationDatabase: source.authenticationDatabase,
          ...(source.databases ? { databases: source.databases } : {}),
          ...bin,
        },
        'mongodb source',
      );
  }
}

export function restoreTargetFor(
  source: DatabaseSource,
  sourcePassword: string | undefined,
  spec: TargetSpec,
): RestoreTarget {
  const password = spec.password ?? sourcePassword;
  const pw = password === undefined ? {} : { password };
  const bin = source.binDir ? { binDir: source.binDir } : {};
  switch (source.type) {
    case 'postgres': {
      const { host, port } = hostPort(spec.to, 5432);
      return createPgLogicalTarget({
        host,
        port,
        user: spec.user ?? source.user,
        ...pw,
        force: spec.force,
        ...(spec.jobs === undefined ? {} : { jobs: spec.jobs }),
        ...(source.binDir ? { binDir: source.binDir } : {}),
      });
    }
    case 'mariadb': {
      const { host, port } = hostPort(spec.to, 3306);
      return createMariadbTarget(
        { host, port, user: spec.user ?? source.user, ...pw, force: spec.force, ...bin },
        'mariadb target',
      );
    }
    case 'redis':
      if (!spec.to.startsWith('/')) {
        throw new LifeboatError(
          'INVALID_ARGUMENT',
          `--to ${JSON.stringify(spec.to)}: a Redis restore starts a fresh redis-server; give an absolute directory for it (and --port)`,
        );
      }
      return createRedisTarget(
        { dir: spec.to, port: spec.port ?? 6379, ...pw, force: spec.force, ...bin },
        'redis target',
      );
    case 'mongodb': {
      const { host, port } = hostPort(spec.to, 27017);
      const user = spec.user ?? source.user;
      return createMongoTarget(
        {
          host,
          port,
          ...(user === undefined ? {} : { username: user }),
          ...pw,
          authenticationDatabase: source.authenticationDatabase,
          force: spec.force,
          ...bin,
        },
        'mongodb target',
      );
    }
  }
}

/** "host:port", "[v6]:port", "host" (default port) or an absolute socket directory. */
export function hostPort(to: string, defaultPort: number): { host: string; port: number } {
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(to);
  if (v6) return { host: v6[1]!, port: v6[2] ? Number(v6[2]) : defaultPort };
  const m = /^([^:]+)(?::(\d+))?$/.exec(to);
  if (!m) {
    throw new LifeboatError('INVALID_ARGUMENT', `--to ${JSON.stringify(to)}: expected host:port`);
  }
  return { host: m[1]!, port: m[2] ? Number(m[2]) : defaultPort };
}
