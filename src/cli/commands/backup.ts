import type { PlanSource } from '../../plan/plan.js';
import { existsSync, fstatSync } from 'node:fs';
import { LifeboatError } from '../../core/errors.js';
import { backupPaths, backupStream, type BackupResult } from '../../repository/backup.js';
import type { Register } from '../command-types.js';
import type { CliContext } from '../context.js';
import { withRepository } from '../context.js';
import { formatBytes } from '../output.js';

interface BackupFlags {
  stdin?: boolean;
  stdinFilename: string;
  tag: string[];
  host?: string;
  exclude: string[];
  oneFileSystem?: boolean;
  parent?: string;
  force?: boolean;
  plan?: string;
}

const collect = (v: string, prev: string[]) => [...prev, v];
// restic splits tag lists on commas; a tag can therefore never contain one.
const collectTags = (v: string, prev: string[]) => [...prev, ...v.split(',').filter(Boolean)];

export const registerBackup: Register = (program, wrap) => {
  program
    .command('backup')
    .description('back up paths, a stream on stdin, or the services of a plan')
    .argument('[items...]', 'paths to back up (path mode) or service names (plan mode)')
    .option('--stdin', 'read the data to back up from standard input')
    .option('--stdin-filename <name>', 'file name for --stdin data', 'stdin')
    .option('--tag <tags>', 'add tags to the snapshot (comma list, repeatable)', collectTags, [])
    .option('--host <name>', 'hostname to record (default: this host)')
    .option('-e, --exclude <pattern>', 'exclude paths matching a glob (repeatable)', collect, [])
    .option('-x, --one-file-system', 'do not cross file system boundaries')
    .option('--parent <snapshot>', 'compare with this snapshot instead of the newest match')
    .option('--force', 'read every file again, ignoring the parent snapshot')
    .option(
      '--plan <file>',
      'back up services from this plan (default $LIFEBOAT_PLAN or ./lifeboat.yaml when no repository is given)',
    )
    .addHelpText(
      'after',
      `
Path mode (a repository is given with -r or LIFEBOAT_REPOSITORY):
  lifeboat -r /srv/repo backup /etc /home --exclude '*.tmp'
  pg_dump app | lifeboat -r /srv/repo backup --stdin --stdin-filename app.sql
Plan mode (--plan, or ./lifeboat.yaml and no repository given):
  lifeboat backup                 every service, in dependency order
  lifeboat backup app-files       only the named services
Exit codes: 0 ok, 3 snapshot written but some files could not be read, 1 failure.`,
    )
    .action(
      wrap(async (ctx, items, flags) => {
        const f = flags as BackupFlags;
        const args = items as string[];
        const noRepo = ctx.globals.repo === undefined && !ctx.env.LIFEBOAT_REPOSITORY;
        const planFile =
          f.plan ??
          (noRepo
            ? (ctx.env.LIFEBOAT_PLAN ?? (existsSync('lifeboat.yaml') ? 'lifeboat.yaml' : undefined))
            : undefined);
        if (planFile && !f.stdin) return backupPlan(ctx, planFile, args);
        return withRepository(ctx, async (repo) => {
          const common = {
            tags: f.tag,
            ...(f.host ? { hostname: f.host } : {}),
            progress: ctx.output.progress(),
            signal: ctx.signal,
          };
          let result: BackupResult;
          if (f.stdin) {
            if (args.length > 0) {
              throw new LifeboatError('INVALID_ARGUMENT', '--stdin takes no path arguments');
            }
            // A chunk worker reads a file or pipe on stdin directly (no copy through this
            // thread); other kinds (sockets, terminals) cannot be reopened, so read them here.
            const st = fstatSync(0);
            const source = st.isFile() || st.isFIFO() ? { path: '/dev/stdin' } : process.stdin;
            result = await backupStream(repo, source, f.stdinFilename, common);
          } else {
            if (args.length === 0) {
              throw new LifeboatError(
                'INVALID_ARGUMENT',
                'nothing to back up: name at least one path',
              );
            }
            result = await backupPaths(repo, args, {
              ...common,
              excludes: f.exclude,
              oneFileSystem: f.oneFileSystem ?? false,
              ...(f.parent ? { parent: f.parent } : {}),
              force: f.force ?? false,
            });
          }
          return report(ctx, result);
        });
      }),
    );
};

async function backupPlan(ctx: CliContext, planFile: string, names: string[]) {
  // Loaded on demand: the plan parser (zod, yaml) costs ~20 MB and ~200 ms at startup.
  const { loadPlan } = await import('../../plan/load-plan.js');
  const { backupService } = await import('../../recovery/backup-service.js');
  const { selectServices } = await import('../../plan/select-services.js');
  const plan = await loadPlan(planFile);
  let exit = 0;
  for (const service of selectServices(plan, names)) {
    ctx.output.info(`backing up service ${service.name} (${describeSource(service.source)})`);
    const result = await backupService(plan, service, {
      openBackend: (loc) => ctx.backend(loc),
      env: ctx.env,
      compression: ctx.compression(),
      progress: ctx.output.progress(),
      signal: ctx.signal,
    });
    exit = Math.max(exit, report(ctx, result, service.name));
  }
  return exit;
}

function report(ctx: CliContext, r: BackupResult, service?: string): number {
  const c = r.counters;
  const seconds = r.durationMs / 1000;
  ctx.output.clearProgress();
  ctx.output.text(
    `Files: ${c.filesNew} new, ${c.filesChanged} changed, ${c.filesUnmodified} unmodified` +
      `\nAdded to the repository: ${formatBytes(r.writer.bytesAdded)} ` +
      `(${formatBytes(r.writer.bytesStored)} stored)` +
      `\nprocessed ${c.filesProcessed} files, ${formatBytes(c.bytesProcessed)} in ${seconds.toFixed(1)}s` +
      `\nsnapshot ${r.snapshotId.slice(0, 8)} saved` +
      (r.warnings.length ? `\n${r.warnings.length} warnings: some files could not be read` : ''),
  );
  ctx.output.record('summary', {
    command: 'backup',
    ...(service ? { service } : {}),
    snapshotId: r.snapshotId,
    filesNew: c.filesNew,
    filesChanged: c.filesChanged,
    filesUnmodified: c.filesUnmodified,
    dirs: c.dirs,
    filesProcessed: c.filesProcessed,
    bytesProcessed: c.bytesProcessed,
    blobsAdded: r.writer.blobsAdded,
    bytesAdded: r.writer.bytesAdded,
    bytesStored: r.writer.bytesStored,
    packsWritten: r.writer.packsWritten,
    warnings: r.warnings.length,
    durationMs: r.durationMs,
  });
  // restic: exit code 3 when the snapshot was written but some source files were unreadable.
  return r.warnings.length > 0 ? 3 : 0;
}

function describeSource(source: PlanSource): string {
  return source.type === 'directory'
    ? source.path
    : `${source.type} at ${source.host}:${String(source.port)}`;
}
