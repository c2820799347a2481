/**
 * How Lifeboat talks to Redis with the stock `redis-cli`: validated host, port and user as
 * arguments, the password only through the REDISCLI_AUTH environment variable (never argv,
 * where `ps` would show it), and failures to connect or log in classified as UNREACHABLE.
 */
import { isAbsolute, join } from 'node:path';
import { LifeboatError, type ErrorCode } from '../../core/errors.js';
import { runTool } from '../tool.js';
import { checkHost, checkIdentifier, checkPort } from '../validate.js';

export interface RedisConnection {
  /** Host name or IP address, or the absolute path of the server's Unix socket. */
  readonly host: string;
  /** TCP port; ignored for a socket path. */
  readonly port: number;
  /** Handed to redis-cli in REDISCLI_AUTH, never as an argument. */
  readonly password?: string;
  /** ACL user (Redis 6+); default: the `default` user. */
  readonly username?: string;
  /** Directory holding redis-cli (and, for targets, redis-server, redis-check-rdb); default: PATH. */
  readonly binDir?: string;
}

export function checkRedisConnection(what: string, conn: RedisConnection): RedisConnection {
  checkHost(`${what}.host`, conn.host);
  checkPort(`${what}.port`, conn.port);
  if (conn.username !== undefined) checkIdentifier(`${what}.username`, conn.username);
  return conn;
}

export function where(conn: { host: string; port: number }): string {
  return isAbsolute(conn.host) ? conn.host : `${conn.host}:${conn.port}`;
}

/** A Redis tool from binDir, or by name from PATH. */
export function redisTool(name: string, binDir?: string): string {
  return binDir === undefined ? name : join(binDir, name);
}

/** redis-cli arguments that select the server and user (no secrets). */
export function cliArgs(conn: RedisConnection): string[] {
  const to = isAbsolute(conn.host) ? ['-s', conn.host] : ['-h', conn.host, '-p', String(conn.port)];
  const user = conn.username === undefined ? [] : ['--user', conn.username];
  return [...to, ...user, '--no-auth-warning'];
}

export function cliEnv(conn: { password?: string }): Record<string, string> {
  return conn.password === undefined ? {} : { REDISCLI_AUTH: conn.password };
}

/**
 * redis-cli prints "Could not connect to Redis at …" when the server is down and
 * "AUTH failed: …" when the login is refused, and exits 1; either means UNREACHABLE.
 */
export function classifyRedis(stderr: string): ErrorCode | undefined {
  return /Could not connect to Redis|AUTH failed|NOAUTH|WRONGPASS|Connection reset|I\/O error/i.test(
    stderr,
  )
    ? 'UNREACHABLE'
    : undefined;
}

/** Runs one command through redis-cli and returns its reply text (without the final newline). */
export async function redisCommand(
  conn: RedisConnection,
  command: readonly string[],
  what: string,
  signal?: AbortSignal,
): Promise<string> {
  const { stdout } = await runTool(
    {
      command: redisTool('redis-cli', conn.binDir),
      args: [...cliArgs(conn), ...command],
      env: cliEnv(conn),
      what,
      classify: classifyRedis,
    },
    signal ? { signal } : {},
  );
  return stdout.replace(/\n$/, '');
}

/**
 * PINGs the server; throws UNREACHABLE unless it answers PONG. redis-cli exits 0 even when the
 * reply is an error such as NOAUTH, so the reply itself is checked.
 */
export async function ping(
  conn: RedisConnection,
  what: string,
  signal?: AbortSignal,
): Promise<void> {
  const reply = await redisCommand(conn, ['PING'], what, signal);
  if (reply !== 'PONG') {
    throw new LifeboatError(
      'UNREACHABLE',
      `${what}: redis at ${where(conn)} answered PING with ${JSON.stringify(reply.slice(0, 200))}`,
      {
        details: { host: conn.host, port: conn.port },
      },
    );
  }
}
