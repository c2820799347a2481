/**
 * How Lifeboat reaches a MariaDB or MySQL server with the stock client tools: validated host,
 * port and user as arguments; the password only in a 0600 option file named by
 * `--defaults-extra-file`, which the tools accept only as their very first argument; the
 * MariaDB tool names with the MySQL names as fallback; connection failures classified by the
 * client's error number (issue 3, "Credentials" and "Bad input").
 */
import { accessSync, constants } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';
import type { ErrorCode } from '../../core/errors.js';
import { createPrivateDir, mariadbOptionFile } from '../private-dir.js';
import { runTool } from '../tool.js';
import { checkHost, checkIdentifier, checkPort } from '../validate.js';

/** Where a MariaDB/MySQL server listens and whom to log in as. */
export interface MariadbLogin {
  /** Host name or IP address (TCP), or the absolute path of the server's Unix socket file. */
  readonly host: string;
  /** TCP port; ignored for a socket path. */
  readonly port: number;
  readonly user: string;
  /** Handed to the tools in a 0600 option file, never as an argument. */
  readonly password?: string;
  /** Directory holding the client tools; default: PATH. */
  readonly binDir?: string;
}

/** Validates host, port and user (throws INVALID_ARGUMENT naming `what`.host etc.). */
export function checkLogin(what: string, login: MariadbLogin): MariadbLogin {
  checkHost(`${what}.host`, login.host);
  checkPort(`${what}.port`, login.port);
  checkIdentifier(`${what}.user`, login.user);
  return login;
}

/** "127.0.0.1:3306" or the socket path, for messages. */
export function where(login: MariadbLogin): string {
  return isAbsolute(login.host) ? login.host : `${login.host}:${login.port}`;
}

/** Connection arguments after the option file: TCP unless the host is a socket path. */
function connectionArgs(login: MariadbLogin): string[] {
  const to = isAbsolute(login.host)
    ? ['--protocol=SOCKET', `--socket=${login.host}`]
    : ['--protocol=TCP', `--host=${login.host}`, `--port=${login.port}`];
  return [...to, `--user=${login.user}`];
}

/**
 * Runs `fn` with the leading arguments for any MariaDB tool: `--defaults-extra-file=<0600 file>`
 * first (when there is a password), then the connection. The file is removed afterwards.
 */
export async function withLoginArgs<T>(
  login: MariadbLogin,
  fn: (args: string[]) => Promise<T>,
): Promise<T> {
  if (login.password === undefined) return fn(connectionArgs(login));
  await using dir = await createPrivateDir();
  const file = await dir.writeSecret('client.cnf', mariadbOptionFile(login.password));
  return await fn([`--defaults-extra-file=${file}`, ...connectionArgs(login)]);
}

/** Like withLoginArgs, for a generator that yields while the tool runs. */
export async function* withLoginArgsGen<T>(
  login: MariadbLogin,
  fn: (args: string[]) => AsyncIterable<T>,
): AsyncGenerator<T> {
  if (login.password === undefined) {
    yield* fn(connectionArgs(login));
    return;
  }
  await using dir = await createPrivateDir();
  const file = await dir.writeSecret('client.cnf', mariadbOptionFile(login.password));
  yield* fn([`--defaults-extra-file=${file}`, ...connectionArgs(login)]);
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * The first of `names` found in `binDir` (or on PATH): MariaDB renamed its tools (mysqldump →
 * mariadb-dump, mysql → mariadb) and MySQL has only the old names. When none is found the first
 * name is returned, so the spawn fails with TOOL_FAILED naming the tool we wanted.
 */
export function findTool(names: readonly [string, ...string[]], binDir?: string): string {
  const dirs =
    binDir !== undefined
      ? [binDir]
      : (process.env['PATH'] ?? '').split(delimiter).filter((d) => d !== '');
  for (const name of names) {
    for (const dir of dirs) {
      const candidate = join(dir, name);
      if (isExecutable(candidate)) return candidate;
    }
  }
  return binDir !== undefined ? join(binDir, names[0]) : names[0];
}

export function clientTool(login: MariadbLogin): string {
  return findTool(['mariadb', 'mysql'], login.binDir);
}

// Client error numbers (include/errmsg.h, mysqld_error.h) that mean "cannot reach or log in":
// 1045 access denied, 2002 socket, 2003 TCP refused/timeout, 2005 unknown host,
// 2006 server gone away, 2013 lost connection, 2026 TLS handshake.
const UNREACHABLE_ERRORS = new Set(['1045', '2002', '2003', '2005', '2006', '2013', '2026']);

/**
 * Maps a tool failure to UNREACHABLE by the error number the client prints
 * ("ERROR 2003 (HY000): …", "mariadb-dump: Got error: 2003: …", "Error 2013: …").
 */
export function classifyMariadb(stderr: string): ErrorCode | undefined {
  for (const m of stderr.matchAll(/\b(?:ERROR|Error|error:?)\s+(\d{4})\b/g)) {
    if (m[1] !== undefined && UNREACHABLE_ERRORS.has(m[1])) return 'UNREACHABLE';
  }
  return undefined;
}

/** Undoes the client's --batch escaping of one field (\\, \t, \n, \0). */
function unescapeBatch(field: string): string {
  return field.replace(/\\([\\tn0])/g, (_m, c: string) =>
    c === 't' ? '\t' : c === 'n' ? '\n' : c === '0' ? '\0' : '\\',
  );
}

/** Splits --batch --skip-column-names output into rows of unescaped fields. */
export function parseBatch(stdout: string): string[][] {
  return stdout
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => line.split('\t').map(unescapeBatch));
}

/**
 * Runs SQL through the client (on stdin, never argv) and returns the result rows. For the
 * small catalogue queries of listParts and restore checks; dumps stream through toolOutput.
 */
export async function query(
  login: MariadbLogin,
  sql: string,
  what: string,
  signal?: AbortSignal,
): Promise<string[][]> {
  const command = clientTool(login);
  const { stdout } = await withLoginArgs(login, (args) =>
    runTool(
      {
        command,
        args: [...args, '--batch', '--skip-column-names'],
        what,
        classify: classifyMariadb,
      },
      { input: sql, ...(signal ? { signal } : {}), maxStdout: 64 << 20 },
    ),
  );
  return parseBatch(stdout);
}

/** A backquoted identifier (a backquote inside is doubled). */
export function quoteIdent(name: string): string {
  return `\`${name.replace(/`/g, '``')}\``;
}

/**
 * A single-quoted string literal for scripts that start with `SET SESSION sql_mode = ''`
 * (so backslash is the escape character whatever the server default).
 */
export function sqlString(value: string): string {
  return `'${value
    .replace(/[\\']/g, (c) => `\\${c}`)
    .replace(/\n/g, '\\n')
    .replace(/\0/g, '\\0')}'`;
}
