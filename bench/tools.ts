/**
 * The two contestants as command lines: Lifeboat (this checkout's CLI, run by the same node
 * binary as the benchmark) and the stock restic binary. Both get a password through the
 * environment, --json (NDJSON summaries) and --quiet (no progress), so neither pays for
 * terminal output the other skips. restic keeps its usual local cache, in the work dir,
 * because that is how it runs in production.
 */
import type { CommandSpec } from './measure.js';

export type ToolName = 'lifeboat' | 'restic';

export const PASSWORD = 'lifeboat-bench-password';

export interface ToolConfig {
  /** Absolute path of bin/lifeboat.js. */
  lifeboatBin: string;
  resticBin: string;
  /** RESTIC_CACHE_DIR for every restic run. */
  resticCacheDir: string;
  /** Extra node flags for Lifeboat (e.g. --cpu-prof), per run. */
  nodeFlags?: () => string[];
}

/** What a backup reported about itself; field names differ between the tools. */
export interface BackupSummary {
  filesNew: number;
  filesChanged: number;
  filesUnmodified: number;
  bytesAdded: number;
}

export interface Tool {
  readonly name: ToolName;
  /** Prints the version: start-up cost only. */
  version(): CommandSpec;
  init(repo: string): CommandSpec;
  backupPaths(repo: string, paths: string[]): CommandSpec;
  backupStdin(repo: string, streamFile: string, filename: string): CommandSpec;
  restore(repo: string, target: string): CommandSpec;
  dump(repo: string, path: string, outFile: string): CommandSpec;
  checkReadData(repo: string): CommandSpec;
  parseBackupSummary(stdout: string): BackupSummary | undefined;
}

/** Our environment without anything that could point either tool at another repository. */
function baseEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined || /^(LIFEBOAT|RESTIC)_/.test(k)) continue;
    env[k] = v;
  }
  return env;
}

function lastSummary(stdout: string, isSummary: (r: Record<string, unknown>) => boolean) {
  for (const line of stdout.trim().split('\n').reverse()) {
    try {
      const r = JSON.parse(line) as unknown;
      if (r && typeof r === 'object' && isSummary(r as Record<string, unknown>)) {
        return r as Record<string, unknown>;
      }
    } catch {
      // Not JSON (a stray line of text): keep looking.
    }
  }
  return undefined;
}

const num = (v: unknown): number => (typeof v === 'number' ? v : 0);

export function lifeboatTool(cfg: ToolConfig): Tool {
  const env = { ...baseEnv(), LIFEBOAT_PASSWORD: PASSWORD };
  const run = (repo: string, args: string[], extra: Partial<CommandSpec> = {}): CommandSpec => ({
    file: process.execPath,
    args: [...(cfg.nodeFlags?.() ?? []), cfg.lifeboatBin, '-r', repo, '--json', '-q', ...args],
    env,
    ...extra,
  });
  return {
    name: 'lifeboat',
    version: () => ({
      file: process.execPath,
      args: [...(cfg.nodeFlags?.() ?? []), cfg.lifeboatBin, '--version'],
      env,
    }),
    // init is not a measured step, so it is never profiled.
    init: (repo) => ({
      ...run(repo, ['init']),
      args: [cfg.lifeboatBin, '-r', repo, '--json', '-q', 'init'],
    }),
    backupPaths: (repo, paths) => run(repo, ['backup', ...paths]),
    backupStdin: (repo, file, filename) =>
      run(repo, ['backup', '--stdin', '--stdin-filename', filename], { stdinFile: file }),
    restore: (repo, target) => run(repo, ['restore', 'latest', '--target', target]),
    dump: (repo, path, outFile) => run(repo, ['dump', 'latest', path], { stdoutFile: outFile }),
    checkReadData: (repo) => run(repo, ['check', '--read-data']),
    parseBackupSummary(stdout) {
      const r = lastSummary(stdout, (x) => x.type === 'summary' && x.command === 'backup');
      if (!r) return undefined;
      return {
        filesNew: num(r.filesNew),
        filesChanged: num(r.filesChanged),
        filesUnmodified: num(r.filesUnmodified),
        bytesAdded: num(r.bytesAdded),
      };
    },
  };
}

export function resticTool(cfg: ToolConfig): Tool {
  const env = { ...baseEnv(), RESTIC_PASSWORD: PASSWORD, RESTIC_CACHE_DIR: cfg.resticCacheDir };
  const run = (repo: string, args: string[], extra: Partial<CommandSpec> = {}): CommandSpec => ({
    file: cfg.resticBin,
    args: ['-r', repo, '--json', '-q', ...args],
    env,
    ...extra,
  });
  return {
    name: 'restic',
    version: () => ({ file: cfg.resticBin, args: ['version'], env }),
    init: (repo) => run(repo, ['init']),
    backupPaths: (repo, paths) => run(repo, ['backup', ...paths]),
    backupStdin: (repo, file, filename) =>
      run(repo, ['backup', '--stdin', '--stdin-filename', filename], { stdinFile: file }),
    restore: (repo, target) => run(repo, ['restore', 'latest', '--target', target]),
    dump: (repo, path, outFile) => run(repo, ['dump', 'latest', path], { stdoutFile: outFile }),
    checkReadData: (repo) => run(repo, ['check', '--read-data']),
    parseBackupSummary(stdout) {
      const r = lastSummary(stdout, (x) => x.message_type === 'summary');
      if (!r) return undefined;
      return {
        filesNew: num(r.files_new),
        filesChanged: num(r.files_changed),
        filesUnmodified: num(r.files_unmodified),
        bytesAdded: num(r.data_added),
      };
    },
  };
}
