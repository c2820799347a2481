/**
 * `npm run bench`: generates the data, runs Lifeboat and restic side by side on it, and
 * writes bench/RESULTS.md and bench/work/results.json. Progress goes to stderr, so stdout
 * carries only the results (the Markdown table, or JSON with --json).
 * Exit status: 0 when every run succeeded (missed speed targets are reported, not fatal),
 * 1 when a command failed or restored wrong bytes, or the benchmark could not run.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { commandLine, commandOutput, machineInfo } from './machine.js';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isLifeboatError, LifeboatError } from '../src/core/errors.js';
import { freeBytes } from './fs-utils.js';
import { generateStream, generateTree, type DataStats } from './generate.js';
import { defaultRssSource } from './measure.js';
import { compileOptions, USAGE, type BenchOptions } from './options.js';
import { renderProfileSection } from './profile.js';
import {
  renderMarkdown,
  renderSummaryTable,
  summarize,
  writeResultsFile,
  type RunMeta,
} from './report.js';
import { runStreamSuite, runTreeSuite, STEPS, type Sample, type SuiteContext } from './suite.js';
import { lifeboatTool, resticTool } from './tools.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const WORK = join(ROOT, 'bench', 'work');
const GiB = 1024 ** 3;
const STREAM_NAME = 'db.sql';

const log = (line: string) => process.stderr.write(`${line}\n`);

function lifeboatVersion(): string {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
  const commit = commandOutput('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD']);
  const dirty = commandOutput('git', ['-C', ROOT, 'status', '--porcelain', '--untracked-files=no']);
  return `${pkg.version}${commit ? ` (${commit}${dirty ? ', uncommitted changes' : ''})` : ''}`;
}

/**
 * Refuses to start without the CLI build, restic, or enough free disk: 3x the data, plus the
 * restored trees, kept until the tree suite ends (2 tools x reps).
 */
function preflight(opts: BenchOptions): string {
  if (!existsSync(join(ROOT, 'dist', 'src', 'cli', 'main.js'))) {
    throw new LifeboatError(
      'INVALID_ARGUMENT',
      'dist/src/cli/main.js is missing: run `npm run build` first',
    );
  }
  const restic = commandOutput(opts.resticBin, ['version']);
  if (!restic) {
    throw new LifeboatError(
      'INVALID_ARGUMENT',
      `restic does not run at ${opts.resticBin}: install it (apt-get install restic) or pass --restic <path>`,
    );
  }
  mkdirSync(WORK, { recursive: true });
  const kept = opts.suites.includes('tree') ? 2 * opts.reps : 0;
  const need = (3 * opts.suites.length + kept) * opts.scale * GiB;
  const free = freeBytes(WORK);
  if (free < need) {
    throw new LifeboatError(
      'IO',
      `the benchmark needs ${(need / GiB).toFixed(1)} GiB free for ${WORK} (3x the data and the kept restores) but only ` +
        `${(free / GiB).toFixed(1)} GiB is available; free space or use a smaller --scale`,
    );
  }
  return restic.split('\n')[0]!;
}

async function bench(argv: readonly string[], opts: BenchOptions): Promise<number> {
  // Clean first, so leftovers of an earlier run do not count against the free space.
  rmSync(WORK, { recursive: true, force: true });
  const resticVersion = preflight(opts);
  const loadStart = loadavg();
  const started = Date.now();
  const data: { tree?: DataStats; stream?: DataStats } = {};
  const tree = join(WORK, 'data', 'tree');
  const stream = join(WORK, 'data', 'stream', STREAM_NAME);
  log(`generating ${opts.suites.join(' and ')} data at scale ${opts.scale} in ${WORK}`);
  if (opts.suites.includes('tree')) data.tree = generateTree(tree, opts);
  if (opts.suites.includes('stream')) data.stream = generateStream(stream, opts);
  const generateMs = Date.now() - started;
  log(`generated in ${(generateMs / 1000).toFixed(1)} s`);

  const profileRoot = join(WORK, 'profiles');
  let profileDir = profileRoot;
  const toolConfig = {
    lifeboatBin: join(ROOT, 'bin', 'lifeboat.js'),
    resticBin: opts.resticBin,
    resticCacheDir: join(WORK, 'restic-cache'),
    ...(opts.cpuProf ? { nodeFlags: () => ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] } : {}),
  };
  const samples: Sample[] = [];
  const ctx: SuiteContext = {
    tools: [lifeboatTool(toolConfig), resticTool(toolConfig)],
    work: WORK,
    seed: opts.seed,
    reps: opts.reps,
    smallReps: opts.smallReps,
    changeFraction: 0.01,
    rssSource: defaultRssSource(),
    samples,
    log,
    beforeRun: (step) => void (profileDir = join(profileRoot, step)),
  };
  try {
    if (data.tree) await runTreeSuite(ctx, tree);
    if (data.stream) await runStreamSuite(ctx, stream, STREAM_NAME);
  } finally {
    if (!opts.keep) {
      for (const dir of ['data', 'repos', 'restore', 'restic-cache']) {
        rmSync(join(WORK, dir), { recursive: true, force: true });
      }
    }
  }

  const summaries = summarize(samples);
  const meta: RunMeta = {
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    commandLine: commandLine(argv, 'bench', 'dist/bench/run.js'),
    options: {
      scale: opts.scale,
      reps: opts.reps,
      smallReps: opts.smallReps,
      seed: opts.seed,
      suites: opts.suites,
    },
    machine: machineInfo(loadStart),
    versions: { node: process.version, restic: resticVersion, lifeboat: lifeboatVersion() },
    rssSource:
      ctx.rssSource === 'gnu-time'
        ? 'GNU time (%M)'
        : '/proc/<pid>/status VmHWM polled every 20 ms',
    data: { ...data, generateMs },
  };
  writeFileSync(join(WORK, 'results.json'), JSON.stringify({ meta, summaries, samples }, null, 2));
  const extra = opts.cpuProf
    ? [renderProfileSection('bench/work/profiles', ROOT, Object.keys(STEPS))]
    : [];
  if (opts.out) writeResultsFile(opts.out, renderMarkdown(meta, summaries, samples, extra));
  if (opts.json) process.stdout.write(`${JSON.stringify({ meta, summaries, samples })}\n`);
  else process.stdout.write(`\n${renderSummaryTable(summaries)}\n\n`);
  log(`raw numbers: ${join(WORK, 'results.json')}${opts.out ? `; report: ${opts.out}` : ''}`);
  const failed = summaries.filter((s) => s.problems.length > 0);
  for (const s of failed) for (const p of s.problems) log(`problem in ${s.step}: ${p}`);
  return failed.length > 0 ? 1 : 0;
}

async function main(argv: readonly string[]): Promise<number> {
  try {
    const opts = compileOptions(argv, process.env, join(ROOT, 'bench', 'RESULTS.md'));
    if (opts.help) {
      process.stdout.write(USAGE);
      return 0;
    }
    return await bench(argv, opts);
  } catch (err) {
    if (isLifeboatError(err)) {
      log(`bench: ${err.message}`);
      return 1;
    }
    if (
      err instanceof TypeError &&
      'code' in err &&
      String(err.code).startsWith('ERR_PARSE_ARGS')
    ) {
      log(`bench: ${err.message}\n\n${USAGE}`);
      return 1;
    }
    throw err;
  }
}

process.exitCode = await main(process.argv.slice(2));
