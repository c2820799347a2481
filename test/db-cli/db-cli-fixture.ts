/**
 * Shared pieces of the database CLI fault tests (issue 3, "Faults" and "Bad input"): a
 * repository with a plan holding one PostgreSQL service, `lifeboat` and `restic` run against
 * it, and a way to find (through /proc) the dump tool a running `lifeboat` started, so a test
 * can kill it or the server under it mid-dump.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { lifeboat, type RunOptions, type RunResult, type SnapshotJson } from '../support/cli.js';
import { restic } from '../support/restic.js';

export const REPO_PASSWORD = 'db-cli repo secret';

/** The YAML lines of a PostgreSQL source (indented for `services.<name>.source`). */
export interface PgSourceSpec {
  mode?: 'logical' | 'physical';
  host?: string;
  port: number;
  user?: string;
  passwordFile?: string;
  databases?: string[];
  binDir?: string;
  /** Extra raw lines, already indented by 6 spaces. */
  extra?: string[];
}

/** Every value goes through JSON.stringify: a JSON string is a valid YAML scalar. */
export function pgSourceYaml(s: PgSourceSpec): string[] {
  const q = (v: string) => JSON.stringify(v);
  return [
    '    source:',
    '      type: postgres',
    ...(s.mode ? [`      mode: ${s.mode}`] : []),
    `      host: ${q(s.host ?? '127.0.0.1')}`,
    `      port: ${String(s.port)}`,
    `      user: ${q(s.user ?? 'postgres')}`,
    ...(s.passwordFile ? [`      password: { file: ${q(s.passwordFile)} }`] : []),
    ...(s.databases ? ['      databases:', ...s.databases.map((d) => `        - ${q(d)}`)] : []),
    ...(s.binDir ? [`      binDir: ${q(s.binDir)}`] : []),
    ...(s.extra ?? []),
  ];
}

export interface DbCliRepo extends AsyncDisposable {
  readonly dir: string;
  readonly repo: string;
  readonly repoPwFile: string;
  readonly plan: string;
  /** Writes the plan with these services (name → source spec). */
  writePlan(services: Record<string, PgSourceSpec>): Promise<void>;
  /** `lifeboat <command> --plan <plan> …` for service commands; never throws. */
  run(args: string[], opts?: RunOptions): Promise<RunResult>;
  /** `lifeboat -r <repo> …` for repository commands; never throws. */
  runRepo(args: string[], opts?: RunOptions): Promise<RunResult>;
  /** `lifeboat -r <repo> --json snapshots`, parsed. */
  snapshots(): Promise<SnapshotJson[]>;
  /** Asserts that `lifeboat check` and a stock `restic check` both find the repository sound. */
  assertSound(): Promise<void>;
}

/** A temp dir with an initialised repository and (after writePlan) a plan using it. */
export async function dbCliRepo(prefix: string): Promise<DbCliRepo> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  const repo = join(dir, 'repo');
  const repoPwFile = join(dir, 'repo-password');
  const plan = join(dir, 'lifeboat.yaml');
  await writeFile(repoPwFile, `${REPO_PASSWORD}\n`, { mode: 0o600 });
  const repoEnv = { LIFEBOAT_PASSWORD_FILE: repoPwFile };
  const runRepo = (args: string[], opts: RunOptions = {}) =>
    lifeboat(['-r', repo, ...args], { cwd: dir, ...opts, env: { ...repoEnv, ...opts.env } });
  const init = await runRepo(['init']);
  assert.equal(init.code, 0, init.stderr);
  return {
    dir,
    repo,
    repoPwFile,
    plan,
    async writePlan(services) {
      const lines = [
        'version: 1',
        'repositories:',
        `  main: { url: ${JSON.stringify(repo)}, password: { file: ${JSON.stringify(repoPwFile)} } }`,
        'services:',
      ];
      for (const [name, spec] of Object.entries(services))
        lines.push(`  ${name}:`, ...pgSourceYaml(spec));
      await writeFile(plan, lines.join('\n') + '\n');
    },
    run: (args, opts = {}) => {
      // --plan goes right after the subcommand(s), so the plan path is in the process's argv
      // (findTool relies on it) and no ./lifeboat.yaml lookup decides anything.
      const cmd = args.findIndex((a) => !a.startsWith('-'));
      const at = cmd + (args[cmd] === 'wal' ? 2 : 1);
      // `plan validate` names its file itself.
      const argv =
        args[cmd] === 'plan' ? args : [...args.slice(0, at), '--plan', plan, ...args.slice(at)];
      return lifeboat(argv, { cwd: dir, ...opts });
    },
    runRepo,
    async snapshots() {
      const r = await runRepo(['--json', 'snapshots']);
      assert.equal(r.code, 0, r.stderr);
      return JSON.parse(r.stdout) as SnapshotJson[];
    },
    async assertSound() {
      const check = await runRepo(['check']);
      assert.equal(check.code, 0, `lifeboat check:\n${check.stdout}\n${check.stderr}`);
      const rc = await restic(['check'], {
        repo,
        password: REPO_PASSWORD,
        env: { RESTIC_PASSWORD_FILE: repoPwFile },
      });
      assert.equal(rc.code, 0, `restic check:\n${rc.stdout}\n${rc.stderr}`);
    },
    async [Symbol.asyncDispose]() {
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Lock files left in the repository (a failed job must not leave its lock behind). */
export async function repoLocks(repo: string): Promise<string[]> {
  return readdir(join(repo, 'locks')).catch(() => []);
}

/** A running process as /proc shows it. */
export interface ProcInfo {
  readonly pid: number;
  readonly env: Record<string, string>;
}

function procRead(pid: string, file: string): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'utf8');
  } catch {
    return undefined; // gone meanwhile
  }
}

/**
 * Processes named `tool` (e.g. pg_dump) whose parent's command line contains `marker`
 * (the plan path of one test's `lifeboat` run, so no other test's tools are ever touched).
 */
export function toolsOf(marker: string, tool: string): ProcInfo[] {
  const found: ProcInfo[] = [];
  for (const pid of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    if (procRead(pid, 'comm')?.trim() !== tool) continue;
    const stat = procRead(pid, 'stat');
    // Fields after the ")" that ends the command name: state, ppid, …
    const ppid = stat?.slice(stat.lastIndexOf(')') + 2).split(' ')[1];
    if (ppid === undefined) continue;
    const parent = procRead(ppid, 'cmdline')?.split('\0') ?? [];
    if (!parent.includes(marker)) continue;
    const env: Record<string, string> = {};
    for (const kv of (procRead(pid, 'environ') ?? '').split('\0')) {
      const eq = kv.indexOf('=');
      if (eq > 0) env[kv.slice(0, eq)] = kv.slice(eq + 1);
    }
    found.push({ pid: Number(pid), env });
  }
  return found;
}

/** Waits until `lifeboat` (found by `marker`) runs `tool` with PGDATABASE=`database`. */
export async function waitForTool(
  marker: string,
  tool: string,
  database: string,
  timeoutMs = 30_000,
): Promise<ProcInfo> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const p = toolsOf(marker, tool).find((t) => t.env.PGDATABASE === database);
    if (p) return p;
    if (Date.now() > deadline)
      throw new Error(`no ${tool} of database ${database} within ${timeoutMs} ms`);
    await sleep(10);
  }
}
