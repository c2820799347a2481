/**
 * Turns the database benchmark's samples into medians, ratios against each step's reference
 * tool and verdicts against issue 3's targets, and renders bench/RESULTS-databases.md: a
 * hand-written part above RESULTS_DB_MARKER is kept, everything below it is rewritten.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { median } from '../report.js';
import type { DedupFacts, DedupRun } from './dedup.js';
import { DB_STEPS, type DbSample, type DbStepId } from './steps.js';
import type { MachineInfo } from '../machine.js';

export const RESULTS_DB_MARKER =
  '<!-- results: everything below this line is rewritten by `node dist/bench/db/run.js` -->';

/** issue 3: the second backup of the time-ordered table adds at most this share of the first. */
export const DEDUP_TARGET = 0.15;

const DEFAULT_HEADER = `# Lifeboat database benchmark results

Lifeboat against pg_dump, restic and pgBackRest on PostgreSQL, in the same run. How to run it
and what each step does: [db/README.md](db/README.md). Full run: \`npm run bench:db\`; smoke
test: \`npm run bench:db -- --quick\`.
`;

export interface DbRunMeta {
  date: string;
  commandLine: string;
  options: Record<string, unknown>;
  machine: MachineInfo;
  versions: Record<string, string>;
  data: { scale: number; databaseBytes?: number; clusterBytes?: number; setupMs: number };
  durationMs: number;
}

export interface ToolRow {
  tool: string;
  runs: number;
  failed: number;
  wallMs: number;
  mibPerSec: number;
  peakRssBytes: number;
  repoBytes?: number;
  /** Median wall time / the reference's median. */
  timeRatio?: number;
  /** Median over the repetitions of wall time / the reference's in the same repetition. */
  pairedRatio?: number;
  rssRatio?: number;
  verdict: string;
}

export interface StepTable {
  step: DbStepId;
  sourceBytes: number;
  rows: ToolRow[];
  problems: string[];
}

const MiB = 1048576;
const isLifeboat = (tool: string) => tool.startsWith('lifeboat');

/** tool / reference wall time within each repetition in which both succeeded. */
function pairedRatios(samples: readonly DbSample[], tool: string, reference: string): number[] {
  const good = (s: DbSample) => s.exitCode === 0 && s.problems.length === 0;
  return samples.flatMap((s) => {
    if (s.tool !== tool || !good(s)) return [];
    const ref = samples.find((x) => x.tool === reference && x.rep === s.rep && good(x));
    return ref ? [s.wallMs / ref.wallMs] : [];
  });
}

export function summarizeSteps(samples: readonly DbSample[]): StepTable[] {
  const tables: StepTable[] = [];
  for (const step of Object.keys(DB_STEPS) as DbStepId[]) {
    const mine = samples.filter((s) => s.step === step);
    if (mine.length === 0) continue;
    const info = DB_STEPS[step];
    const tools = [...new Set(mine.map((s) => s.tool))];
    const sourceBytes = median(mine.map((s) => s.sourceBytes));
    const rows: ToolRow[] = tools.map((tool) => {
      const runs = mine.filter((s) => s.tool === tool);
      const ok = runs.filter((s) => s.exitCode === 0 && s.problems.length === 0);
      const wallMs = median(ok.map((s) => s.wallMs));
      const repos = ok.flatMap((s) => (s.repoBytes === undefined ? [] : [s.repoBytes]));
      return {
        tool,
        runs: runs.length,
        failed: runs.length - ok.length,
        wallMs,
        mibPerSec: sourceBytes / MiB / (wallMs / 1000),
        peakRssBytes: median(ok.map((s) => s.peakRssBytes)),
        ...(repos.length ? { repoBytes: median(repos) } : {}),
        verdict: '',
      };
    });
    const ref = rows.find((r) => r.tool === info.reference);
    for (const r of rows) {
      if (r === ref) {
        r.verdict = r.failed ? 'FAILED' : 'reference';
        continue;
      }
      if (ref && ref.failed < ref.runs && r.failed < r.runs) {
        r.timeRatio = r.wallMs / ref.wallMs;
        r.rssRatio = r.peakRssBytes / ref.peakRssBytes;
        const paired = pairedRatios(mine, r.tool, info.reference);
        if (paired.length) r.pairedRatio = median(paired);
      }
      // Both readings must meet the target: on a noisy machine they can disagree.
      const worst = Math.max(r.timeRatio ?? NaN, r.pairedRatio ?? r.timeRatio ?? NaN);
      if (r.failed) r.verdict = 'FAILED';
      else if (info.diagnostics.includes(r.tool)) r.verdict = 'diagnostic';
      else if (!isLifeboat(r.tool)) r.verdict = 'peer';
      else if (!Number.isFinite(worst)) r.verdict = 'no reference';
      else if (worst <= info.timeTarget) r.verdict = 'ok';
      else r.verdict = `missed: ${worst.toFixed(2)}× > ${info.timeTarget.toFixed(1)}×`;
    }
    const problems = mine.flatMap((s) =>
      s.problems.map((p) => `${s.tool} (rep ${String(s.rep + 1)}): ${p}`),
    );
    tables.push({ step, sourceBytes, rows, problems });
  }
  return tables;
}

const f1 = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(1));
const f2 = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(2));
const mib = (b: number | undefined) =>
  b === undefined || !Number.isFinite(b) ? '–' : (b / MiB).toFixed(0);

export function renderStepTables(tables: readonly StepTable[]): string {
  const lines = [
    '| step | tool | time (s) | MiB/s | peak RSS (MiB) | repo / file (MiB) | time / ref | paired | RSS / ref | target |',
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const t of tables) {
    const info = DB_STEPS[t.step];
    for (const r of t.rows) {
      const target = r.verdict === 'ok' ? ` (≤ ${info.timeTarget.toFixed(1)}×)` : '';
      lines.push(
        `| ${info.title} | ${r.tool} | ${f2(r.wallMs / 1000)} | ${f1(r.mibPerSec)} | ${mib(r.peakRssBytes)} | ${mib(r.repoBytes)} | ${f2(r.timeRatio)} | ${f2(r.pairedRatio)} | ${f2(r.rssRatio)} | ${r.verdict}${target} |`,
      );
    }
  }
  return lines.join('\n');
}

export interface DedupRow {
  test: string;
  tool: string;
  label: string;
  bytesAdded: number;
  bytesStored?: number;
  /** Added by this backup / added by the first backup of the test. */
  ratio: number;
  storedRatio?: number;
  repoBytes: number;
  wallMs: number;
}

export function dedupRows(runs: readonly DedupRun[]): DedupRow[] {
  return runs.map((r) => {
    const first = runs.find((x) => x.test === r.test && x.tool === r.tool && x.backup === 1);
    const stored =
      r.bytesStored !== undefined && first?.bytesStored
        ? r.bytesStored / first.bytesStored
        : undefined;
    return {
      test: r.test,
      tool: r.tool,
      label: r.label,
      bytesAdded: r.bytesAdded,
      ...(r.bytesStored === undefined ? {} : { bytesStored: r.bytesStored }),
      ratio: first ? r.bytesAdded / first.bytesAdded : NaN,
      ...(stored === undefined ? {} : { storedRatio: stored }),
      repoBytes: r.repoBytes,
      wallMs: r.wallMs,
    };
  });
}

const pct = (x: number | undefined) =>
  x === undefined || !Number.isFinite(x) ? '–' : `${(x * 100).toFixed(1)}%`;
const mib1 = (b: number | undefined) =>
  b === undefined || !Number.isFinite(b) ? '–' : (b / MiB).toFixed(1);

export function renderDedup(runs: readonly DedupRun[], facts: DedupFacts): string {
  const rows = dedupRows(runs);
  const lines = [
    `(a) \`events\`: ${String(facts.eventsRows)} rows in time order (${mib(facts.eventsTableBytes)} MiB with its index); ` +
      `then ${String(facts.eventsAppended)} rows appended (2%) and ${String(facts.eventsUpdated)} rows updated, all among the newest 5%. ` +
      `(b) \`bench\` (pgbench): unchanged, then \`pgbench -T ${String(facts.pgbenchSeconds)}\` (${String(facts.pgbenchTransactions)} transactions of uniform random updates). ` +
      `Added = plaintext bytes of new blobs ("Added to the repository"); stored = after compression and encryption (Lifeboat only: restic 0.14 does not report it).`,
    '',
    '| test | tool | backup | added (MiB) | added / first | stored (MiB) | stored / first | repo after (MiB) | time (s) | target |',
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    const isTarget = r.test === 'events' && r.tool === 'lifeboat' && r.ratio !== 1;
    const verdict = isTarget
      ? r.ratio <= DEDUP_TARGET
        ? `ok (≤ ${pct(DEDUP_TARGET)})`
        : `missed (≤ ${pct(DEDUP_TARGET)})`
      : '';
    lines.push(
      `| ${r.test} | ${r.tool} | ${r.label} | ${mib1(r.bytesAdded)} | ${pct(r.ratio)} | ${mib1(r.bytesStored)} | ${pct(r.storedRatio)} | ${mib1(r.repoBytes)} | ${f2(r.wallMs / 1000)} | ${verdict} |`,
    );
  }
  return lines.join('\n');
}

function formatDetail(d: DbSample['detail']): string {
  if (!d) return '';
  return Object.entries(d)
    .map(([k, v]) => {
      if (typeof v === 'string') return `${k} ${v}`;
      if (/Bytes$|^rss|^bytes/.test(k)) return `${k} ${mib1(v)} MiB`;
      return `${k} ${String(v)}`;
    })
    .join(', ');
}

export function renderRuns(samples: readonly DbSample[]): string {
  const lines = [
    '| step | rep | tool | ran | time (s) | RSS (MiB) | repo (MiB) | exit | detail |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const s of samples) {
    lines.push(
      `| ${s.step} | ${String(s.rep + 1)} | ${s.tool} | ${String(s.position)} | ${f2(s.wallMs / 1000)} | ${mib(s.peakRssBytes)} | ${mib(s.repoBytes)} | ${String(s.exitCode)} | ${formatDetail(s.detail)} |`,
    );
  }
  return lines.join('\n');
}

export function renderDbMarkdown(
  meta: DbRunMeta,
  samples: readonly DbSample[],
  dedup: { runs: DedupRun[]; facts: DedupFacts } | undefined,
  extra: readonly string[] = [],
): string {
  const tables = summarizeSteps(samples);
  const m = meta.machine;
  const parts = [
    `## Results of ${meta.date}`,
    '',
    `Command: \`${meta.commandLine}\``,
    '',
    `- machine: ${String(m.nproc)} CPUs (${m.cpu}), ${String(m.memGiB)} GiB RAM, Linux ${m.kernel}; load average ${m.loadStart.map((x) => x.toFixed(2)).join(' ')} at the start, ${m.loadEnd.map((x) => x.toFixed(2)).join(' ')} at the end`,
    `- versions: ${Object.entries(meta.versions)
      .map(([k, v]) => `${k} ${v}`)
      .join('; ')}`,
    `- options: ${JSON.stringify(meta.options)}; peak RSS from GNU time (%M) of the largest process of a command`,
    `- data: pgbench scale ${String(meta.data.scale)}: database bench ${mib(meta.data.databaseBytes)} MiB, cluster ${mib(meta.data.clusterBytes)} MiB; setup (initdb, pgbench -i, repositories) ${f1(meta.data.setupMs / 1000)} s; whole run ${f1(meta.durationMs / 60000)} min`,
    '',
    'Medians over the repetitions; every repetition starts from fresh repositories and restores into fresh servers. ' +
      'MiB/s = database size (logical) or cluster size (physical) / wall time. "time / ref" and "RSS / ref" divide by the step\'s reference tool ' +
      '(pg_dump | restic, pg_restore -j2, pgBackRest): "time / ref" divides the medians, "paired" is the median of the ratios within each repetition (the two ran back to back); a target counts as met only when both are within it. Below 1 Lifeboat is faster or smaller. For `pg_dump | restic` the RSS is the larger of the two ' +
      'processes (both are in "Every run"). Rows marked "diagnostic" are not contestants: the dump or tar that Lifeboat consumes, produced alone into /dev/null, and pg_restore with the one job that `lifeboat restore` without `--jobs` runs; they show how much of Lifeboat\'s time is its own. PITR times run from the restore command until `SELECT count(*) FROM pgbench_accounts` answered on the promoted server.',
    '',
    renderStepTables(tables),
  ];
  const problems = tables.flatMap((t) => t.problems.map((p) => `${t.step}: ${p}`));
  if (dedup) {
    parts.push(
      '',
      '### Deduplication of a second logical backup',
      '',
      renderDedup(dedup.runs, dedup.facts),
    );
    for (const r of dedup.runs)
      for (const p of r.problems)
        problems.push(`dedup-${r.test} #${String(r.backup)} ${r.tool}: ${p}`);
  }
  if (problems.length) parts.push('', '### Problems', '', ...problems.map((p) => `- ${p}`));
  parts.push(...extra.flatMap((e) => ['', e]));
  parts.push('', '### Every run', '', renderRuns(samples), '');
  return parts.join('\n');
}

export function writeDbResultsFile(file: string, body: string): void {
  const old = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const at = old.indexOf(RESULTS_DB_MARKER);
  const header = at >= 0 ? old.slice(0, at) : DEFAULT_HEADER + '\n';
  writeFileSync(file, `${header}${RESULTS_DB_MARKER}\n\n${body}`);
}
