/**
 * How Lifeboat runs the MongoDB Database Tools (mongodump, mongorestore): validated host, port,
 * user and authentication database as arguments, and the password only in a 0600 YAML file
 * passed with `--config` (supported since Database Tools 100.3.0; the documented way besides
 * the interactive prompt), never argv. Failures to connect or log in become UNREACHABLE.
 *
 * Untested against a real server: no MongoDB server or tools could be installed where this was
 * written. The arguments follow the Database Tools documentation; the tests use stand-in tools.
 */
import { join } from 'node:path';
import { LifeboatError, type ErrorCode } from '../../core/errors.js';
import { createPrivateDir } from '../private-dir.js';
import { checkHost, checkIdentifier, checkPort } from '../validate.js';

export interface MongoLogin {
  readonly host: string;
  readonly port: number;
  readonly username?: string;
  /** Written to a 0600 YAML file for `--config`, never passed as an argument. Needs `username`. */
  readonly password?: string;
  /** Database holding the user's credentials (`--authenticationDatabase`), e.g. "admin". */
  readonly authenticationDatabase?: string;
  /** Directory holding mongodump and mongorestore; default: PATH. */
  readonly binDir?: string;
}

export function checkMongoLogin(what: string, login: MongoLogin): MongoLogin {
  checkHost(`${what}.host`, login.host, false);
  checkPort(`${what}.port`, login.port);
  if (login.username !== undefined) checkIdentifier(`${what}.username`, login.username);
  if (login.authenticationDatabase !== undefined) {
    checkIdentifier(`${what}.authenticationDatabase`, login.authenticationDatabase);
  }
  if (login.password !== undefined && login.username === undefined) {
    throw new LifeboatError('INVALID_ARGUMENT', `${what}: a password needs a username`, {
      details: { setting: `${what}.username` },
    });
  }
  return login;
}

export function where(login: MongoLogin): string {
  return `${login.host}:${login.port}`;
}

export function mongoTool(name: 'mongodump' | 'mongorestore', binDir?: string): string {
  return binDir === undefined ? name : join(binDir, name);
}

/**
 * The YAML for `--config`: a double-quoted scalar, whose escapes are a superset of JSON's, so
 * JSON.stringify gives a value no character of the password can break out of.
 */
export function mongoConfigFile(password: string): string {
  return `password: ${JSON.stringify(password)}\n`;
}

function loginArgs(login: MongoLogin): string[] {
  return [
    `--host=${login.host}`,
    `--port=${login.port}`,
    ...(login.username === undefined ? [] : [`--username=${login.username}`]),
    ...(login.authenticationDatabase === undefined
      ? []
      : [`--authenticationDatabase=${login.authenticationDatabase}`]),
  ];
}

/**
 * Yields from `fn` given the leading arguments for a Database Tool: `--config=<0600 file>` when
 * there is a password, then the connection. The file is removed when the iteration ends.
 */
export async function* withMongoArgs<T>(
  login: MongoLogin,
  fn: (args: string[]) => AsyncIterable<T>,
): AsyncGenerator<T> {
  if (login.password === undefined) {
    yield* fn(loginArgs(login));
    return;
  }
  await using dir = await createPrivateDir();
  const file = await dir.writeSecret('mongo-tools.yaml', mongoConfigFile(login.password));
  yield* fn([`--config=${file}`, ...loginArgs(login)]);
}

/** Promise flavour of withMongoArgs. */
export async function withMongoArgsDo<T>(
  login: MongoLogin,
  fn: (args: string[]) => Promise<T>,
): Promise<T> {
  if (login.password === undefined) return fn(loginArgs(login));
  await using dir = await createPrivateDir();
  const file = await dir.writeSecret('mongo-tools.yaml', mongoConfigFile(login.password));
  return await fn([`--config=${file}`, ...loginArgs(login)]);
}

/**
 * The tools print "Failed: can't create session: … server selection error …" when the server
 * is down and "… (AuthenticationFailed) Authentication failed." when the login is refused.
 */
export function classifyMongo(stderr: string): ErrorCode | undefined {
  return /can't create session|server selection|connection refused|AuthenticationFailed|Authentication failed/i.test(
    stderr,
  )
    ? 'UNREACHABLE'
    : undefined;
}
