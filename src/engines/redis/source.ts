/**
 * Redis as a backup source (issue 3): one part, `dump.rdb`, a point-in-time RDB snapshot taken
 * over the replication protocol by `redis-cli --rdb -` and streamed from its stdout (redis-cli
 * 7.0+ writes to stdout for "-"), so no copy of the snapshot ever lands on local disk. The
 * server forks and serialises its dataset as it would for a new replica; nothing is written
 * into the server's own data directory when diskless replication is on (the default).
 *
 * Note: a server with `repl-diskless-sync-delay` (default 5 s) waits that long for more replicas
 * before it starts sending, so every dump takes at least that long.
 */
import type { DumpSource } from '../engine.js';
import { createPrivateDir } from '../private-dir.js';
import { toolOutput } from '../tool.js';
import {
  checkRedisConnection,
  classifyRedis,
  cliArgs,
  cliEnv,
  ping,
  redisTool,
  where,
  type RedisConnection,
} from './connection.js';
import { rdbFromReplicaStream } from './rdb-stream.js';

export const RDB_PART = 'dump.rdb';

/** Validates the connection up front (INVALID_ARGUMENT); nothing runs until listParts. */
export function createRedisSource(conn: RedisConnection, what = 'redis source'): DumpSource {
  checkRedisConnection(what, conn);
  return {
    kind: 'redis',
    async listParts(signal) {
      await ping(conn, `${what}: checking redis at ${where(conn)}`, signal);
      return [{ name: RDB_PART, open: (s) => snapshot(conn, s) }];
    },
  };
}

async function* snapshot(conn: RedisConnection, signal?: AbortSignal): AsyncGenerator<Uint8Array> {
  const what = `RDB snapshot of redis at ${where(conn)}`;
  // An empty working directory: a redis-cli older than 7.0 would write a file named "-" here
  // (instead of to stdout), and it must not land wherever Lifeboat happens to run.
  await using cwd = await createPrivateDir();
  const out = toolOutput(
    {
      command: redisTool('redis-cli', conn.binDir),
      args: [...cliArgs(conn), '--rdb', '-'],
      env: cliEnv(conn),
      cwd: cwd.path,
      what,
      classify: classifyRedis,
    },
    signal,
  );
  yield* rdbFromReplicaStream(out, what);
}
