/**
 * Where Lifeboat's time goes: with `--cpu-prof` every Lifeboat run writes V8 CPU profiles
 * (one per thread, workers included) into bench/work/profiles/<step>/, and this folds them
 * into the functions with the most self time, for the RESULTS.md section that issue 2 asks
 * for when a target is missed.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface CpuProfile {
  nodes: { id: number; callFrame: CallFrame }[];
  samples: number[];
  timeDeltas: number[];
}

export interface HotFunction {
  name: string;
  where: string;
  selfMs: number;
}

export interface ProfileSummary {
  profiles: number;
  /** Sampled time on all threads, idle excluded. */
  busyMs: number;
  idleMs: number;
  top: HotFunction[];
}

function shortUrl(url: string, root: string): string {
  const prefix = `file://${root}/`;
  return url.startsWith(prefix) ? url.slice(prefix.length) : url;
}

export function summarizeProfiles(dir: string, root: string, top = 12): ProfileSummary | undefined {
  if (!existsSync(dir)) return undefined;
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  if (files.length === 0) return undefined;
  const self = new Map<string, HotFunction>();
  let busyMs = 0;
  let idleMs = 0;
  for (const file of files) {
    const p = JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile;
    const frames = new Map(p.nodes.map((n) => [n.id, n.callFrame]));
    for (let i = 0; i < p.samples.length; i++) {
      const cf = frames.get(p.samples[i]!);
      const ms = (p.timeDeltas[i] ?? 0) / 1000;
      if (!cf) continue;
      if (cf.functionName === '(idle)') {
        idleMs += ms;
        continue;
      }
      busyMs += ms;
      const where = cf.url ? `${shortUrl(cf.url, root)}:${cf.lineNumber + 1}` : '';
      const name = cf.functionName || '(anonymous)';
      const key = `${name}@${where}`;
      const hot = self.get(key) ?? { name, where, selfMs: 0 };
      hot.selfMs += ms;
      self.set(key, hot);
    }
  }
  const sorted = [...self.values()].sort((a, b) => b.selfMs - a.selfMs).slice(0, top);
  return { profiles: files.length, busyMs, idleMs, top: sorted };
}

export function renderProfileSection(
  profileRoot: string,
  root: string,
  steps: readonly string[],
): string {
  const parts = [
    '### Where Lifeboat spends its time (CPU profiles)',
    '',
    `Self time per function over all Lifeboat runs of the step and all their threads, from \`node --cpu-prof\` ` +
      `(profiles in \`${profileRoot}\`; profiling slows the runs a little, so compare ratios from a run without it).`,
  ];
  for (const step of steps) {
    const s = summarizeProfiles(join(profileRoot, step), root);
    if (!s) continue;
    parts.push(
      '',
      `**${step}**: ${s.profiles} thread profiles, ${(s.busyMs / 1000).toFixed(1)} s busy, ` +
        `${(s.idleMs / 1000).toFixed(1)} s idle`,
      '',
      '| function | where | self (s) | share of busy |',
      '|---|---|---|---|',
      ...s.top.map(
        (h) =>
          `| ${h.name} | ${h.where || '–'} | ${(h.selfMs / 1000).toFixed(2)} | ${((100 * h.selfMs) / s.busyMs).toFixed(1)}% |`,
      ),
    );
  }
  return parts.join('\n');
}
