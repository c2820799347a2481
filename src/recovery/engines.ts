/**
 * The engine registry (STYLE.md habit 8: registered explicitly): which engine produces the
 * backup of a plan source, and which consumes it on restore. Secrets are resolved by the
 * caller and passed in; engines never see the plan or the repository.
 */
import { LifeboatError } from '../core/errors.js';
import type { DumpSource, RestoreTarget } from '../engines/engine.js';
import { createPgLogicalSource } from '../engines/postgres/logical-source.js';
import { createPgLogicalTarget } from '../engines/postgres/logical-target.js';
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
  switch (source.type) {
    case 'postgres':
      if (source.mode === 'physical') {
        throw new LifeboatError('INTERNAL', 'physical PostgreSQL backups do not use a dump source');
      }
      return createPgLogicalSource(pgConnectionOf(source, password));
    case 'mariadb':
    case 'redis':
    case 'mongodb':
      throw new LifeboatError('UNSUPPORTED', `${source.type} is not wired yet`);
  }
}

export function restoreTargetFor(
  source: DatabaseSource,
  sourcePassword: string | undefined,
  spec: TargetSpec,
): RestoreTarget {
  const password = spec.password ?? sourcePassword;
  const pw = password === undefined ? {} : { password };
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
    case 'mariadb':
    case 'redis':
    case 'mongodb':
      throw new LifeboatError('UNSUPPORTED', `${source.type} is not wired yet`);
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
