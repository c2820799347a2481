/**
 * The database benchmark of issue 3 (`node dist/bench/db/run.js`, after a build): starts its
 * own PostgreSQL 15 clusters, loads them with pgbench, and runs Lifeboat against pg_dump,
 * restic and pgBackRest side by side: logical backup and restore, physical backup and PITR,
 * deduplication of second backups. Writes bench/RESULTS-databases.md and
 * bench/work/db-results.json; progress goes to stderr. Exit 0 when every run succeeded and
 * every restore matched its source (a missed speed target is reported, not fatal), else 1.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { commandLine, commandOutput, machineInfo } from '../machine.js';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isLifeboatError, LifeboatError } from '../../src/core/errors.js';
import type { PgServer } from '../../test/support/postgres.js';
import { freeBytes } from '../fs-utils.js';
import { renderProfileSection } from '../profile.js';
import {
  archiveAll,
  clusterBytes,
  databaseBytes,
  pgbenchInit,
  setArchiveCommand,
  startSource,
} from './clusters.js';
import { Commands, PG_BIN, PGBACKREST, RESTIC } from './commands.js';
import { runDedup, type DedupFacts, type DedupRun } from './dedup.js';
import { GNU_TIME, mustRun, SETPRIV } from './exec.js';
import { runLogical, type PhaseContext } from './logical.js';
import { compileDbOptions, USAGE, type DbBenchOptions } from './options.js';
import { freshPgbackrest, runPhysical } from './physical.js';
import { Profiler } from './profiler.js';
import { copyLifeboat } from './snapshot.js';
import {
  renderDbMarkdown,
  renderStepTables,
  summarizeSteps,
  writeDbResultsFile,
  type DbRunMeta,
} from './report.js';
import type { DbSample } from './steps.js';
import {
  createWorkspace,
  ownedFile,
  pgbackrestConf,
  planYaml,
  type Workspace,
} from './workspace.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const GiB = 1024 ** 3;
/** Where the CPU profiles are copied before the work directory goes. */
const PROFILES = join(ROOT, 'bench', 'work', 'db-profiles');

const log = (line: string) => process.stderr.write(`${line}\n`);

function lifeboatVersion(root: string): string {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
  const commit = commandOutput('git', ['-C', root, 'rev-parse', '--short', 'HEAD']);
  // Which sources differ from the commit: others change src/ while benchmarks run.
  let status = '';
  try {
    status = execFileSync('git', ['-C', root, 'status', '--porcelain', '--', 'src'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
  } catch {
    // not a git checkout
  }
  const changed = status
    .split('\n')
    .map((l) => l.slice(3))
    .filter(Boolean);
  const dirty = changed.length ? ` + uncommitted ${changed.join(', ')}` : '';
  return `${pkg.version} in ${root}${commit ? ` (${commit}${dirty})` : ''}`;
}

/** Refuses to start without the build, the peers, root, or room for the clusters. */
function preflight(opts: DbBenchOptions): Record<string, string> {
  const need = (ok: boolean, what: string) => {
    if (!ok) throw new LifeboatError('INVALID_ARGUMENT', what);
  };
  need(
    existsSync(join(opts.lifeboatRoot, 'dist', 'src', 'cli', 'main.js')),
    'dist/src/cli/main.js is missing: run `npm run build` first',
  );
  need(
    process.getuid?.() === 0,
    'run the database benchmark as root: it runs PostgreSQL and the tools as the postgres user',
  );
  need(existsSync(GNU_TIME), `${GNU_TIME} (GNU time) is missing: apt-get install time`);
  need(existsSync(SETPRIV), `${SETPRIV} is missing (util-linux)`);
  need(
    existsSync(join(PG_BIN, 'pgbench')),
    `PostgreSQL 15 is missing in ${PG_BIN}: apt-get install postgresql-15`,
  );
  const versions: Record<string, string> = {
    node: process.version,
    lifeboat: lifeboatVersion(opts.lifeboatRoot),
  };
  versions.postgres = commandOutput(join(PG_BIN, 'postgres'), ['--version']) ?? '?';
  if (opts.phases.includes('logical') || opts.phases.includes('dedup')) {
    const v = commandOutput(RESTIC, ['version']);
    need(v !== undefined, `restic does not run at ${RESTIC}: apt-get install restic`);
    versions.restic = v!.split(' ').slice(0, 2).join(' ');
  }
  if (opts.phases.includes('physical')) {
    const v = commandOutput(PGBACKREST, ['version']);
    need(v !== undefined, `pgBackRest does not run at ${PGBACKREST}: apt-get install pgbackrest`);
    versions.pgbackrest = v!;
  }
  // Two clusters, their WAL, restored copies and repositories: ~12x the database at most.
  const needBytes = (opts.scale / 50) * 12 * GiB;
  const free = freeBytes('/tmp');
  if (free < needBytes) {
    throw new LifeboatError(
      'IO',
      `the benchmark needs ${(needBytes / GiB).toFixed(1)} GiB free in /tmp but ${(free / GiB).toFixed(1)} GiB is available; use a smaller --scale`,
    );
  }
  return versions;
}

async function bench(argv: readonly string[], opts: DbBenchOptions): Promise<number> {
  const versions = preflight(opts);
  const loadStart = loadavg();
  const started = Date.now();
  const ws: Workspace = await createWorkspace();
  const copyRoot = join(ws.dir, 'lifeboat');
  const lifeboat = copyLifeboat(opts.lifeboatRoot, copyRoot);
  if (lifeboat.stale.length) {
    log(
      `warning: dist/ is older than ${lifeboat.stale.join(', ')}: run \`npm run build\` for current numbers`,
    );
  }
  const cmd = new Commands(ws, lifeboat.bin);
  const profiler = new Profiler(cmd, opts.cpuProf ? ws.profiles : undefined);
  const samples: DbSample[] = [];
  const ctx: PhaseContext = { ws, cmd, samples, log, profiler };
  const servers: PgServer[] = [];
  let dedup: { runs: DedupRun[]; facts: DedupFacts } | undefined;
  let dbBytes: number | undefined;
  let clBytes: number | undefined;
  let setupMs = 0;
  log(
    `work directory ${ws.dir}; pgbench scale ${String(opts.scale)}, ${String(opts.reps)} repetition(s), phases ${opts.phases.join(', ')}`,
  );
  try {
    const physical = opts.phases.includes('physical');
    const source = await startSource();
    servers.push(source);
    await ownedFile(ws, ws.pgPasswordFile, `${source.password}\n`);
    await ownedFile(ws, ws.planFile, planYaml(ws, source));
    log(`source cluster on port ${String(source.port)}: pgbench -i -s ${String(opts.scale)}`);
    await pgbenchInit(source, cmd, opts.scale);
    dbBytes = await databaseBytes(source, 'bench');
    clBytes = await clusterBytes(source);
    let peerSource: PgServer | undefined;
    if (physical) {
      peerSource = await startSource();
      servers.push(peerSource);
      log(
        `pgBackRest's cluster on port ${String(peerSource.port)}: pgbench -i -s ${String(opts.scale)}`,
      );
      await pgbenchInit(peerSource, cmd, opts.scale);
      await ownedFile(
        ws,
        ws.pgbackrestConf,
        pgbackrestConf(ws, peerSource, randomBytes(24).toString('base64url')),
      );
      await mustRun(cmd.lifeboatInit(ws.repos.lifeboatPhysical), 'lifeboat init (physical)');
      // pgbench -i's WAL goes to /bin/true first: only WAL after this point reaches the tools.
      await archiveAll(source);
      await archiveAll(peerSource);
      await setArchiveCommand(source, cmd.lifeboatArchiveCommand('pgphys'));
      await setArchiveCommand(peerSource, cmd.pgbackrestArchiveCommand());
      await freshPgbackrest(ctx);
    }
    setupMs = Date.now() - started;
    log(`setup done in ${(setupMs / 1000).toFixed(1)} s`);

    if (opts.phases.includes('logical')) await runLogical(ctx, source, opts.reps);
    if (physical && peerSource) {
      await runPhysical(ctx, source, peerSource, opts.reps, opts.walTransactions);
      // Done with archiving: the dedup phase's data loads need not reach the physical repository.
      await setArchiveCommand(source, '/bin/true');
      await peerSource[Symbol.asyncDispose]();
    }
    if (opts.phases.includes('dedup')) dedup = await runDedup(ctx, source, opts);
  } finally {
    for (const s of servers.reverse()) {
      try {
        await s[Symbol.asyncDispose]();
      } catch (e) {
        log(`could not stop the server on port ${String(s.port)}: ${String(e)}`);
      }
    }
    if (opts.cpuProf) {
      rmSync(PROFILES, { recursive: true, force: true });
      if (existsSync(ws.profiles)) cpSync(ws.profiles, PROFILES, { recursive: true });
    }
    if (!opts.keep) await ws.remove();
    else log(`kept ${ws.dir}`);
  }

  const meta: DbRunMeta = {
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    commandLine: commandLine(argv, 'bench:db', 'dist/bench/db/run.js'),
    options: {
      scale: opts.scale,
      reps: opts.reps,
      eventsRows: opts.eventsRows,
      pgbenchSeconds: opts.pgbenchSeconds,
      walTransactions: opts.walTransactions,
      phases: opts.phases,
    },
    machine: machineInfo(loadStart),
    versions,
    data: {
      scale: opts.scale,
      ...(dbBytes === undefined ? {} : { databaseBytes: dbBytes }),
      ...(clBytes === undefined ? {} : { clusterBytes: clBytes }),
      setupMs,
    },
    durationMs: Date.now() - started,
  };
  const jsonDir = join(ROOT, 'bench', 'work');
  mkdirSync(jsonDir, { recursive: true });
  const raw = JSON.stringify({ meta, samples, dedup }, null, 2);
  writeFileSync(join(jsonDir, 'db-results.json'), raw);
  const extra = opts.cpuProf
    ? [
        // Profiles name the copy's files; strip its root as the repository's would be.
        renderProfileSection(PROFILES, copyRoot, [
          'logical-backup',
          'logical-restore',
          'physical-backup',
          'pitr-latest',
          'pitr-time',
          'dedup-events',
          'dedup-pgbench',
        ]),
      ]
    : [];
  if (opts.out) writeDbResultsFile(opts.out, renderDbMarkdown(meta, samples, dedup, extra));
  if (opts.json) process.stdout.write(`${raw}\n`);
  else process.stdout.write(`\n${renderStepTables(summarizeSteps(samples))}\n\n`);
  log(`raw numbers: bench/work/db-results.json${opts.out ? `; report: ${opts.out}` : ''}`);
  const failed =
    samples.filter((s) => s.exitCode !== 0 || s.problems.length > 0).length +
    (dedup?.runs.filter((r) => r.problems.length > 0).length ?? 0);
  if (failed) log(`${String(failed)} run(s) failed or restored wrong data: see the report`);
  return failed ? 1 : 0;
}

/** Writes the report again from saved raw numbers (after a change to the report's form). */
function rerender(file: string, opts: DbBenchOptions): number {
  const raw = JSON.parse(readFileSync(file, 'utf8')) as {
    meta: DbRunMeta;
    samples: DbSample[];
    dedup?: { runs: DedupRun[]; facts: DedupFacts };
  };
  if (opts.out) writeDbResultsFile(opts.out, renderDbMarkdown(raw.meta, raw.samples, raw.dedup));
  process.stdout.write(`\n${renderStepTables(summarizeSteps(raw.samples))}\n\n`);
  return 0;
}

async function main(argv: readonly string[]): Promise<number> {
  try {
    const opts = compileDbOptions(argv, process.env, {
      out: join(ROOT, 'bench', 'RESULTS-databases.md'),
      lifeboat: ROOT,
    });
    if (opts.help) {
      process.stdout.write(USAGE);
      return 0;
    }
    if (opts.fromJson !== undefined) return rerender(opts.fromJson, opts);
    return await bench(argv, opts);
  } catch (err) {
    if (isLifeboatError(err)) {
      log(`bench:db: ${err.message}`);
      return 1;
    }
    if (
      err instanceof TypeError &&
      'code' in err &&
      String(err.code).startsWith('ERR_PARSE_ARGS')
    ) {
      log(`bench:db: ${err.message}\n\n${USAGE}`);
      return 1;
    }
    throw err;
  }
}

process.exitCode = await main(process.argv.slice(2));
