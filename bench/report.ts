/**
 * Turns raw samples into per-step medians, Lifeboat/restic ratios and verdicts against the
 * targets of issue 2 (time ratio <= 1.0 on backups and restores, peak RSS <= 1.5x restic),
 * and renders them as Markdown for bench/RESULTS.md.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { DataStats } from './generate.js';
import { STEPS, type Sample, type StepId, type StepInfo } from './suite.js';
import type { ToolName } from './tools.js';
import type { MachineInfo } from './machine.js';

export const TIME_RATIO_TARGET = 1.0;
export const RSS_RATIO_TARGET = 1.5;
export const RESULTS_MARKER =
  '<!-- results: everything below this line is rewritten by `npm run bench` -->';

export interface RunMeta {
  date: string;
  commandLine: string;
  options: Record<string, unknown>;
  machine: MachineInfo;
  versions: { node: string; restic: string; lifeboat: string };
  rssSource: string;
  data: { tree?: DataStats; stream?: DataStats; generateMs: number };
}

export interface ToolStats {
  runs: number;
  failed: number;
  wallMs: number;
  mibPerSec: number;
  peakRssBytes: number;
  repoBytes: number;
}

export interface StepSummary {
  step: StepId;
  info: StepInfo;
  sourceBytes: number;
  tools: Partial<Record<ToolName, ToolStats>>;
  timeRatio?: number;
  rssRatio?: number;
  verdict: string;
  problems: string[];
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

const MiB = 1048576;

function toolStats(samples: Sample[]): ToolStats | undefined {
  if (samples.length === 0) return undefined;
  const ok = samples.filter((s) => s.problems.length === 0);
  const use = ok.length > 0 ? ok : samples;
  const wallMs = median(use.map((s) => s.wallMs));
  const sourceBytes = median(use.map((s) => s.sourceBytes));
  return {
    runs: samples.length,
    failed: samples.length - ok.length,
    wallMs,
    mibPerSec: sourceBytes > 0 ? sourceBytes / MiB / (wallMs / 1000) : NaN,
    peakRssBytes: median(use.map((s) => s.peakRssBytes)),
    repoBytes: use.at(-1)!.repoBytes,
  };
}

function verdict(s: Omit<StepSummary, 'verdict'>): string {
  if (s.problems.length > 0) return 'FAILED';
  if (s.timeRatio === undefined || s.rssRatio === undefined) return 'incomplete';
  const missed: string[] = [];
  if (s.info.timeTarget && s.timeRatio > TIME_RATIO_TARGET) {
    missed.push(`time +${((s.timeRatio - 1) * 100).toFixed(0)}%`);
  }
  if (s.info.rssTarget && s.rssRatio > RSS_RATIO_TARGET)
    missed.push(`RSS ${s.rssRatio.toFixed(2)}x`);
  if (missed.length) return `missed: ${missed.join(', ')}`;
  return s.info.timeTarget || s.info.rssTarget ? 'ok' : 'reference';
}

export function summarize(samples: readonly Sample[]): StepSummary[] {
  const out: StepSummary[] = [];
  for (const step of Object.keys(STEPS) as StepId[]) {
    const mine = samples.filter((s) => s.step === step);
    if (mine.length === 0) continue;
    const l = toolStats(mine.filter((s) => s.tool === 'lifeboat'));
    const r = toolStats(mine.filter((s) => s.tool === 'restic'));
    const partial: Omit<StepSummary, 'verdict'> = {
      step,
      info: STEPS[step],
      sourceBytes: median(mine.map((s) => s.sourceBytes)),
      tools: { ...(l ? { lifeboat: l } : {}), ...(r ? { restic: r } : {}) },
      ...(l && r ? { timeRatio: l.wallMs / r.wallMs } : {}),
      ...(l && r && r.peakRssBytes > 0 ? { rssRatio: l.peakRssBytes / r.peakRssBytes } : {}),
      problems: mine.flatMap((s) => s.problems.map((p) => `${s.tool}, rep ${s.rep + 1}: ${p}`)),
    };
    out.push({ ...partial, verdict: verdict(partial) });
  }
  return out;
}

const f1 = (n: number | undefined) => (n === undefined || !Number.isFinite(n) ? '–' : n.toFixed(1));
const f2 = (n: number | undefined) => (n === undefined || !Number.isFinite(n) ? '–' : n.toFixed(2));
const mib = (b: number | undefined) => (b === undefined ? '–' : (b / MiB).toFixed(0));

export function renderSummaryTable(summaries: readonly StepSummary[]): string {
  const rows = [
    '| data | step | time L / R (s) | MiB/s L / R | peak RSS L / R (MiB) | repo L / R (MiB) | time L/R | RSS L/R | target |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const s of summaries) {
    const l = s.tools.lifeboat;
    const r = s.tools.restic;
    rows.push(
      `| ${s.info.suite} | ${s.info.title} | ${f2(l && l.wallMs / 1000)} / ${f2(r && r.wallMs / 1000)} ` +
        `| ${f1(l?.mibPerSec)} / ${f1(r?.mibPerSec)} | ${mib(l?.peakRssBytes)} / ${mib(r?.peakRssBytes)} ` +
        `| ${mib(l?.repoBytes)} / ${mib(r?.repoBytes)} | ${f2(s.timeRatio)} | ${f2(s.rssRatio)} | ${s.verdict} |`,
    );
  }
  return rows.join('\n');
}

function renderSamples(samples: readonly Sample[]): string {
  const rows = [
    '| step | rep | pair | tool | ran | time (s) | RSS (MiB) | repo (MiB) | exit | backup: new / changed / unmodified, added |',
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const s of samples) {
    const b = s.summary;
    const sum = b
      ? `${b.filesNew} / ${b.filesChanged} / ${b.filesUnmodified}, ${mib(b.bytesAdded)} MiB`
      : '';
    rows.push(
      `| ${s.step} | ${s.rep + 1} | ${s.pair + 1} | ${s.tool} | ${s.position === 1 ? 'first' : 'second'} ` +
        `| ${f2(s.wallMs / 1000)} | ${mib(s.peakRssBytes)} | ${mib(s.repoBytes)} | ${s.exitCode} | ${sum} |`,
    );
  }
  return rows.join('\n');
}

function dataLine(name: 'tree' | 'stream', d: DataStats | undefined): string {
  if (!d) return '';
  const pct = d.bytes ? ((100 * d.textBytes) / d.bytes).toFixed(0) : '0';
  const files = name === 'tree' ? ` ${d.files} files in ${d.dirs} directories,` : '';
  return `- ${name}:${files} ${mib(d.bytes)} MiB (${pct}% compressible text)\n`;
}

export function renderMarkdown(
  meta: RunMeta,
  summaries: readonly StepSummary[],
  samples: readonly Sample[],
  extraSections: readonly string[] = [],
): string {
  const m = meta.machine;
  const missed = summaries.filter((s) => !['ok', 'reference', 'incomplete'].includes(s.verdict));
  const problems = summaries.flatMap((s) => s.problems.map((p) => `- ${s.step}: ${p}`));
  return [
    `## Results of ${meta.date}`,
    '',
    `Command: \`${meta.commandLine}\``,
    '',
    `- machine: ${m.nproc} CPUs (${m.cpu}), ${m.memGiB} GiB RAM, Linux ${m.kernel}; ` +
      `load average ${m.loadStart.map((x) => x.toFixed(2)).join(' ')} at the start, ` +
      `${m.loadEnd.map((x) => x.toFixed(2)).join(' ')} at the end`,
    `- versions: node ${meta.versions.node}, ${meta.versions.restic}, lifeboat ${meta.versions.lifeboat}`,
    `- options: ${JSON.stringify(meta.options)}; peak RSS from ${meta.rssSource}`,
    dataLine('tree', meta.data.tree) +
      dataLine('stream', meta.data.stream) +
      `- data generated in ${(meta.data.generateMs / 1000).toFixed(1)} s`,
    '',
    'L = Lifeboat, R = restic; medians over all runs of a step. MiB/s = source bytes / wall time. ' +
      `Targets (issue 2): time L/R <= ${TIME_RATIO_TARGET.toFixed(1)} on backups and restores, ` +
      `RSS L/R <= ${RSS_RATIO_TARGET}. Repository size is \`du\` of the repository directory after the step ` +
      "(restic's cache, kept in the work dir, is not counted).",
    '',
    renderSummaryTable(summaries),
    '',
    missed.length
      ? `Targets missed or failed: ${missed.map((s) => `${s.info.suite} ${s.info.title} (${s.verdict})`).join('; ')}.`
      : 'All targets met.',
    '',
    ...(problems.length ? ['### Problems', '', ...problems, ''] : []),
    ...extraSections.flatMap((s) => [s, '']),
    '### Every run',
    '',
    renderSamples(samples),
    '',
  ].join('\n');
}

const DEFAULT_HEADER = `# Lifeboat benchmark results

Lifeboat and restic side by side on generated data, in the same run. How to run it and how to
read the numbers: [README.md](README.md). Quick run: \`npm run bench -- --scale 0.05\`.
`;

/** Replaces everything after the marker in `file`, keeping the header above it. */
export function writeResultsFile(file: string, body: string): void {
  const old = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const at = old.indexOf(RESULTS_MARKER);
  const header = at >= 0 ? old.slice(0, at) : DEFAULT_HEADER + '\n';
  writeFileSync(file, `${header}${RESULTS_MARKER}\n\n${body}`);
}
