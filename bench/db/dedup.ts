/**
 * Issue 3, measurement 4: how much a second logical backup adds to the repository.
 * (a) A time-ordered table (events, filled in time order): first backup; then 2% new rows with
 * newer times and updates only among the newest 5%; second backup. Target: the second adds at
 * most 15% of what the first added. (b) The pgbench database: a first backup, an unchanged
 * one, then `pgbench -T` (uniform random updates) and a third. Lifeboat (`backup <service>`,
 * custom-format dumps) and restic (`pg_dump | restic backup --stdin`) side by side.
 */
import type { PgServer } from '../../test/support/postgres.js';
import { pgbench } from './clusters.js';
import { freshRepo, lifeboatBackup, resticPipelineBackup, type PhaseContext } from './logical.js';
import { rotation, type RunOutcome } from './steps.js';

export type DedupTest = 'events' | 'pgbench';

export interface DedupRun {
  test: DedupTest;
  tool: 'lifeboat' | 'restic';
  /** 1-based backup number within the test. */
  backup: number;
  label: string;
  wallMs: number;
  bytesProcessed: number;
  /** Plaintext bytes of new blobs (both tools' "Added to the repository"). */
  bytesAdded: number;
  /** After compression and encryption (Lifeboat reports it; restic 0.14 does not). */
  bytesStored?: number;
  repoBytes: number;
  problems: string[];
}

export interface DedupFacts {
  eventsRows: number;
  eventsAppended: number;
  eventsUpdated: number;
  eventsTableBytes: number;
  pgbenchSeconds: number;
  pgbenchTransactions: number;
}

const EVENT_COLUMNS = (
  g: string,
) => `timestamptz '2024-01-01 00:00:00+00' + ${g} * interval '1 second',
    hashint4(${g}) & 65535,
    round((abs(hashint4(${g} + 1)) % 1000000) / 100.0, 2),
    'order ' || (abs(hashint4(${g} + 2)) % 100000) || ' ' || md5(${g}::text)`;

async function createEvents(pg: PgServer, rows: number): Promise<number> {
  await pg.psql('CREATE DATABASE eventsdb');
  await pg.psql(
    `CREATE TABLE events (id bigserial PRIMARY KEY, at timestamptz NOT NULL, account int NOT NULL,
       amount numeric(12,2) NOT NULL, note text NOT NULL);
     INSERT INTO events (at, account, amount, note)
       SELECT ${EVENT_COLUMNS('g')} FROM generate_series(1, ${String(rows)}) g;
     VACUUM ANALYZE events;`,
    'eventsdb',
  );
  return Number(await pg.psql(`SELECT pg_total_relation_size('events')`, 'eventsdb'));
}

/** 2% new rows after the newest, then every 10th row of the newest 5% updated. */
async function changeEvents(
  pg: PgServer,
  rows: number,
): Promise<{ appended: number; updated: number }> {
  const appended = Math.round(rows * 0.02);
  const newest = Math.round((rows + appended) * 0.05);
  const updated = await pg.psql(
    `INSERT INTO events (at, account, amount, note)
       SELECT ${EVENT_COLUMNS('g')} FROM generate_series(${String(rows + 1)}, ${String(rows + appended)}) g;
     WITH u AS (UPDATE events SET amount = amount + 1, note = note || ' corrected'
       WHERE id > (SELECT max(id) FROM events) - ${String(newest)} AND id % 10 = 0 RETURNING 1)
     SELECT count(*) FROM u;`,
    'eventsdb',
  );
  return { appended, updated: Number(updated) };
}

class DedupRunner {
  readonly runs: DedupRun[] = [];
  private count = 0;

  constructor(
    private readonly ctx: PhaseContext,
    private readonly source: PgServer,
    private readonly test: DedupTest,
    private readonly service: string,
    private readonly db: string,
    private readonly repos: { lifeboat: string; restic: string },
  ) {}

  async init(): Promise<void> {
    await freshRepo(this.ctx, this.repos.lifeboat, 'lifeboat');
    await freshRepo(this.ctx, this.repos.restic, 'restic');
  }

  async backup(label: string): Promise<void> {
    this.count++;
    const tools = [
      {
        tool: 'lifeboat' as const,
        run: () =>
          this.ctx.profiler.around(`dedup-${this.test}`, () =>
            lifeboatBackup(this.ctx, this.service, this.repos.lifeboat),
          ),
      },
      {
        tool: 'restic' as const,
        run: () => resticPipelineBackup(this.ctx, this.source, this.db, this.repos.restic),
      },
    ];
    for (const t of rotation(tools, this.count - 1)) {
      const o: RunOutcome = await t.run();
      const d = o.detail ?? {};
      const n = (k: string) => (typeof d[k] === 'number' ? d[k] : NaN);
      const run: DedupRun = {
        test: this.test,
        tool: t.tool,
        backup: this.count,
        label,
        wallMs: o.wallMs,
        bytesProcessed: n('bytesProcessed'),
        bytesAdded: n('bytesAdded'),
        ...(t.tool === 'lifeboat' ? { bytesStored: n('bytesStored') } : {}),
        repoBytes: o.repoBytes ?? NaN,
        problems: o.problems,
      };
      this.runs.push(run);
      const mib = (b: number) => (b / 1048576).toFixed(1);
      this.ctx.log(
        `  dedup-${this.test.padEnd(8)} #${String(this.count)} ${t.tool.padEnd(9)} ${(o.wallMs / 1000).toFixed(2)} s` +
          `  added ${mib(run.bytesAdded)} MiB  repo ${mib(run.repoBytes)} MiB  (${label})` +
          (o.problems.length ? `  PROBLEM: ${o.problems.join('; ')}` : ''),
      );
    }
  }
}

export async function runDedup(
  ctx: PhaseContext,
  source: PgServer,
  opts: { eventsRows: number; pgbenchSeconds: number },
): Promise<{ runs: DedupRun[]; facts: DedupFacts }> {
  const { ws } = ctx;
  ctx.log(`dedup (a): events table of ${String(opts.eventsRows)} rows in time order`);
  const tableBytes = await createEvents(source, opts.eventsRows);
  const a = new DedupRunner(ctx, source, 'events', 'events', 'eventsdb', {
    lifeboat: ws.repos.lifeboatEvents,
    restic: ws.repos.resticEvents,
  });
  await a.init();
  await a.backup('first backup');
  const change = await changeEvents(source, opts.eventsRows);
  await a.backup(`after +2% rows and ${String(change.updated)} updates in the newest 5%`);

  ctx.log(
    `dedup (b): the pgbench database, unchanged and after pgbench -T ${String(opts.pgbenchSeconds)}`,
  );
  const b = new DedupRunner(ctx, source, 'pgbench', 'db-dedup', 'bench', {
    lifeboat: ws.repos.lifeboatPgbench,
    restic: ws.repos.resticPgbench,
  });
  await b.init();
  await b.backup('first backup');
  await b.backup('unchanged database');
  const out = await pgbench(source, ctx.cmd, ['-T', String(opts.pgbenchSeconds)]);
  const tx = Number(/number of transactions actually processed: (\d+)/.exec(out)?.[1] ?? NaN);
  await b.backup(`after pgbench -T ${String(opts.pgbenchSeconds)} (${String(tx)} transactions)`);
  return {
    runs: [...a.runs, ...b.runs],
    facts: {
      eventsRows: opts.eventsRows,
      eventsAppended: change.appended,
      eventsUpdated: change.updated,
      eventsTableBytes: tableBytes,
      pgbenchSeconds: opts.pgbenchSeconds,
      pgbenchTransactions: tx,
    },
  };
}
