/**
 * How Lifeboat connects PostgreSQL client tools (psql, pg_dump, pg_dumpall, pg_restore,
 * pg_basebackup) to a server, shared by the logical and physical engines (issue 3).
 *
 * Connection settings are validated once, then reach the tools only through PG* environment
 * variables (libpq never parses those as conninfo strings) and the password only through a
 * 0600 PGPASSFILE in a private directory: nothing of either is ever in argv. Inherited PG*
 * variables that could send the tool elsewhere or change the session are overridden.
 */
import { readdirSync, statSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { LifeboatError, type ErrorCode } from '../../core/errors.js';
import { createPrivateDir, pgpassLine, type PrivateDir } from '../private-dir.js';
import { runTool } from '../tool.js';
import { checkHost, checkIdentifier, checkPort } from '../validate.js';

export interface PgConnection {
  /** Host name, IP address, or absolute Unix-socket directory. */
  host: string;
  port: number;
  user: string;
  /**
   * The user's password. Left out: libpq's own defaults decide (peer/trust authentication, or
   * the caller's ~/.pgpass / PGPASSFILE); an inherited PGPASSWORD is never used.
   */
  password?: string;
  /** databases to dump; undefined = every connectable non-template database */
  databases?: readonly string[];
  /** directory of client binaries; default: pick /usr/lib/postgresql/<newest>/bin if present else PATH */
  binDir?: string;
}

/** A validated PgConnection; produce it with compilePgConnection. */
export interface PgSettings {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string | undefined;
  readonly databases: readonly string[] | undefined;
  /** Where the client binaries are; undefined = look them up on PATH. */
  readonly binDir: string | undefined;
  /** "PostgreSQL at 127.0.0.1:5432", for messages (never holds the password). */
  readonly label: string;
}

/** Where Debian/Ubuntu install each major version's client binaries. */
export const DEBIAN_PG_ROOT = '/usr/lib/postgresql';

/** The newest `<root>/<major>/bin` that holds pg_dump, or undefined (then PATH is used). */
export function newestBinDir(root = DEBIAN_PG_ROOT): string | undefined {
  let entries: string[];
  try {
    entries = readdirSync(root);
  } catch {
    return undefined;
  }
  const versions = entries
    .filter((e) => /^\d+(?:\.\d+)?$/.test(e))
    .sort((a, b) => Number(b) - Number(a));
  for (const v of versions) {
    const bin = join(root, v, 'bin');
    try {
      if (statSync(join(bin, 'pg_dump')).isFile()) return bin;
    } catch {
      // not installed for this version
    }
  }
  return undefined;
}

/**
 * Validates every setting (INVALID_ARGUMENT naming `what.<field>`) before anything runs.
 * The message never contains the password.
 */
export function compilePgConnection(conn: PgConnection, what = 'postgres'): PgSettings {
  const host = checkHost(`${what}.host`, conn.host);
  const port = checkPort(`${what}.port`, conn.port);
  const user = checkIdentifier(`${what}.user`, conn.user);
  const { password } = conn;
  if (password !== undefined && (password === '' || /[\r\n\0]/.test(password))) {
    throw new LifeboatError(
      'INVALID_ARGUMENT',
      `${what}.password: must be non-empty and free of line breaks and NUL characters (a PostgreSQL password file cannot hold them)`,
      { details: { setting: `${what}.password` } },
    );
  }
  let databases: string[] | undefined;
  if (conn.databases !== undefined) {
    databases = conn.databases.map((d, i) => checkIdentifier(`${what}.databases[${i}]`, d));
    const dup = databases.find((d, i) => databases?.indexOf(d) !== i);
    if (dup !== undefined) {
      throw new LifeboatError('INVALID_ARGUMENT', `${what}.databases: "${dup}" is listed twice`, {
        details: { setting: `${what}.databases` },
      });
    }
  }
  if (conn.binDir !== undefined && (!isAbsolute(conn.binDir) || conn.binDir.includes('\0'))) {
    throw new LifeboatError('INVALID_ARGUMENT', `${what}.binDir: must be an absolute path`, {
      details: { setting: `${what}.binDir` },
    });
  }
  const label = host.startsWith('/')
    ? `PostgreSQL at socket ${host} port ${port}`
    : `PostgreSQL at ${host.includes(':') ? `[${host}]` : host}:${port}`;
  return Object.freeze({
    host,
    port,
    user,
    password,
    databases: databases && Object.freeze(databases),
    binDir: conn.binDir ?? newestBinDir(),
    label,
  });
}

/** The path of a client tool ("psql", "pg_dump"…): in binDir, or the bare name for PATH. */
export function pgTool(settings: PgSettings, name: string): string {
  return settings.binDir === undefined ? name : join(settings.binDir, name);
}

/** An empty service group: selecting it overrides whatever PGSERVICE the caller inherited. */
const SERVICE = 'lifeboat';

/**
 * Per-job connection state: a private directory with the password file and an empty service
 * file. Keep it open for as long as any tool using `env()` runs; disposing deletes both.
 */
export interface PgSession extends AsyncDisposable {
  /** The complete PG* environment for one tool, connecting to `database` when given. */
  env(database?: string): Record<string, string>;
}

export async function openPgSession(settings: PgSettings): Promise<PgSession> {
  const dir: PrivateDir = await createPrivateDir();
  try {
    const serviceFile = await dir.writeSecret('pg_service.conf', `[${SERVICE}]\n`);
    const passFile =
      settings.password === undefined
        ? undefined
        : await dir.writeSecret(
            'pgpass',
            // "*" for host and database: the file serves this one connection only, and libpq
            // would compare a socket directory as "localhost" or as a path depending on it.
            pgpassLine({ ...settings, host: '*', database: '*', password: settings.password }),
          );
    const base: Record<string, string> = {
      PGHOST: settings.host,
      PGPORT: String(settings.port),
      PGUSER: settings.user,
      // Empty values count as unset in libpq: no inherited hostaddr, password or options.
      PGHOSTADDR: '',
      PGPASSWORD: '',
      PGOPTIONS: '',
      PGCLIENTENCODING: '', // the database's own encoding, so dumps do not depend on our env
      PGSERVICE: SERVICE,
      PGSERVICEFILE: serviceFile,
      PGSYSCONFDIR: dir.path,
      PGTARGETSESSIONATTRS: 'any',
      // "default" tells libpq not to send these; the server's settings apply.
      PGDATESTYLE: 'default',
      PGTZ: 'default',
      PGGEQO: 'default',
      PGCONNECT_TIMEOUT: '10',
      PGAPPNAME: 'lifeboat',
      // Client messages in English, so classifyPgFailure can read them.
      LC_ALL: 'C',
      ...(passFile === undefined ? {} : { PGPASSFILE: passFile }),
    };
    return {
      env: (database) => (database === undefined ? { ...base } : { ...base, PGDATABASE: database }),
      [Symbol.asyncDispose]: () => dir[Symbol.asyncDispose](),
    };
  } catch (e) {
    await dir[Symbol.asyncDispose]();
    throw e;
  }
}

const LOST = [
  /could not connect to server/,
  /connection to server .* failed/,
  /could not translate host name/,
  /server closed the connection unexpectedly/,
  /connection to server was lost/,
  /no connection to the server/,
  /terminating connection/,
  /the database system is (?:starting up|shutting down|in recovery mode|not yet accepting connections)/,
  /timeout expired/,
  /SSL SYSCALL error/,
  /password authentication failed/,
  /no pg_hba\.conf entry/,
  /fe_sendauth: no password supplied/,
  /FATAL: +role "[^"]*" does not exist/,
];

/**
 * Maps a libpq tool's failure to UNREACHABLE (server down, gone mid-dump, login refused) or
 * NOT_FOUND (database missing). Tools run with LC_ALL=C, so libpq's own messages are in
 * English; psql additionally reports any lost connection with exit status 2.
 */
export function classifyPgFailure(stderr: string): ErrorCode | undefined {
  if (/FATAL: +database "[^"]*" does not exist/.test(stderr)) return 'NOT_FOUND';
  if (LOST.some((re) => re.test(stderr))) return 'UNREACHABLE';
  return undefined;
}

/** classifyPgFailure for psql, whose exit status 2 means "the connection went bad". */
export function classifyPsqlFailure(
  stderr: string,
  exitCode: number | null,
): ErrorCode | undefined {
  return classifyPgFailure(stderr) ?? (exitCode === 2 ? 'UNREACHABLE' : undefined);
}

/**
 * Runs one SQL query with psql in `database` and parses its single-value output as JSON
 * (queries build their result with json_agg/json_build_object, so names with any characters
 * come back intact). The SQL must be a constant: it is passed as an argument.
 */
export async function queryJson(
  settings: PgSettings,
  session: PgSession,
  database: string,
  sql: string,
  what: string,
  signal?: AbortSignal,
): Promise<unknown> {
  const { stdout } = await runTool(
    {
      command: pgTool(settings, 'psql'),
      args: ['-X', '-w', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-c', sql],
      env: session.env(database),
      what: `${what} (${settings.label}, database ${database})`,
      classify: classifyPsqlFailure,
    },
    signal === undefined ? {} : { signal },
  );
  try {
    return JSON.parse(stdout) as unknown;
  } catch {
    throw new LifeboatError('TOOL_FAILED', `${what}: psql printed something that is not JSON`, {
      details: { output: stdout.slice(0, 200) },
    });
  }
}
