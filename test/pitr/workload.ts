/**
 * A continuous write workload for RPO tests: one psql session commits one numbered row at a
 * time (`INSERT … RETURNING`), and each row the server acknowledged is recorded with the time
 * of the acknowledgement. After a crash, the acknowledged rows missing from a restored copy are
 * the data lost, and the time between the newest restored and the newest acknowledged row is
 * the measured RPO.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { PG_BIN, type PgServer } from '../support/postgres.js';

export interface Workload {
  /** Acknowledged rows: n → ms since the epoch when the commit was acknowledged. */
  readonly acked: Map<number, number>;
  /** Stops issuing writes (the session may already be dead after a crash). */
  stop(): Promise<void>;
}

export async function startWorkload(pg: PgServer, everyMs = 10): Promise<Workload> {
  await pg.psql(
    'CREATE TABLE IF NOT EXISTS rpo (n int PRIMARY KEY, at timestamptz NOT NULL DEFAULT clock_timestamp())',
  );
  const child = spawn(
    `${PG_BIN}/psql`,
    [
      '-X',
      '-A',
      '-t',
      '-q',
      '-h',
      pg.socketDir,
      '-p',
      String(pg.port),
      '-U',
      'postgres',
      'postgres',
    ],
    { stdio: ['pipe', 'pipe', 'ignore'], uid: pg.osUser.uid, gid: pg.osUser.gid },
  );
  const acked = new Map<number, number>();
  createInterface({ input: child.stdout }).on('line', (line) => {
    const n = Number(line.trim());
    if (Number.isInteger(n) && n > 0) acked.set(n, Date.now());
  });
  child.stdin.on('error', () => undefined);
  let n = 0;
  let running = true;
  const loop = (async () => {
    while (running && child.exitCode === null) {
      n += 1;
      child.stdin.write(`INSERT INTO rpo (n) VALUES (${String(n)}) RETURNING n;\n`);
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return {
    acked,
    async stop() {
      running = false;
      await loop;
      child.stdin.end();
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}

/** Loss after restoring: acknowledged rows not in the copy, and the time span they cover. */
export function measureLoss(
  acked: ReadonlyMap<number, number>,
  restoredMax: number,
): { lostRows: number; lostMs: number; ackedRows: number } {
  let lastAck = 0;
  let lastKept = 0;
  let lost = 0;
  for (const [n, at] of acked) {
    lastAck = Math.max(lastAck, at);
    if (n <= restoredMax) lastKept = Math.max(lastKept, at);
    else lost += 1;
  }
  return { lostRows: lost, lostMs: lost === 0 ? 0 : lastAck - lastKept, ackedRows: acked.size };
}
