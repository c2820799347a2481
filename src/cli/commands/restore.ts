import { resolve } from 'node:path';
import { LifeboatError } from '../../core/errors.js';
import { restoreTree } from '../../repository/restorer/restorer.js';
import { findSnapshot } from '../../repository/snapshot.js';
import type { Register } from '../command-types.js';
import { restoreService, type ServiceRestoreFlags } from './restore-service.js';
import { withRepository } from '../context.js';
import { formatBytes } from '../output.js';

const collect = (v: string, prev: string[]) => [...prev, v];

export const registerRestore: Register = (program, wrap) => {
  program
    .command('restore')
    .description('restore a snapshot into a directory, or a service of the plan (--to)')
    .argument('<snapshot|service>', 'snapshot id, unique prefix or "latest"; with --to, a service')
    .option('-t, --target <dir>', 'directory to restore into (created if missing)')
    .option(
      '--to <target>',
      'service mode: host:port of a server, or a directory (Redis, PostgreSQL physical)',
    )
    .option('--plan <file>', 'service mode: the plan (default $LIFEBOAT_PLAN or ./lifeboat.yaml)')
    .option('--time <timestamp>', 'PITR: recover up to this time, e.g. "2026-11-22 10:00:00+00"')
    .option('--lsn <lsn>', 'PITR: recover up to this WAL position, e.g. 0/5000028')
    .option('--xid <xid>', 'PITR: recover up to this transaction id')
    .option('--name <name>', 'PITR: recover up to this restore point (pg_create_restore_point)')
    .option('--exclusive', 'PITR: stop just before the --time/--lsn/--xid target')
    .option(
      '--port <port>',
      'service mode: port of the restored server (Redis, PostgreSQL physical)',
    )
    .option(
      '--socket-dir <dir>',
      'PITR: Unix-socket directory of the restored server (default /tmp)',
    )
    .option(
      '--os-user <name>',
      'PITR: run the restored server as this user (default postgres as root)',
    )
    .option('--user <name>', 'service mode: the login on the target (default: the source user)')
    .option(
      '--jobs <n>',
      'PostgreSQL logical: pg_restore parallel jobs (spools each dump to a temp file)',
    )
    .option('--snapshot <id>', 'service mode: restore this backup instead of the newest')
    .option('--force', 'service mode: replace existing data in the target')
    .option(
      '-i, --include <path>',
      'restore only this snapshot path and what is below it (repeatable)',
      collect,
      [],
    )
    .option('--overwrite', 'allow a non-empty target and replace what is in the way')
    .option('--tag <tag>', 'with "latest": only snapshots with this tag (repeatable)', collect, [])
    .option(
      '--host <host>',
      'with "latest": only snapshots from this host (repeatable)',
      collect,
      [],
    )
    .addHelpText(
      'after',
      `
Examples:
  lifeboat -r /srv/repo restore latest --target /tmp/r --include /etc/nginx
  lifeboat restore app-db --to 127.0.0.1:5433                  (logical: into a running server)
  lifeboat restore pg --to /srv/pg-restored --port 5433 --time "2026-11-22 09:59:00+00"
  lifeboat restore cache --to /srv/redis-restored --port 6380  (starts redis-server there)
Service mode's target password: LIFEBOAT_TARGET_PASSWORD (default: the source's).`,
    )
    .action(
      wrap(async (ctx, ref, flags) => {
        if ((flags as { to?: string }).to !== undefined) {
          return restoreService(ctx, ref as string, flags as ServiceRestoreFlags);
        }
        const f = flags as {
          target?: string;
          include: string[];
          overwrite?: boolean;
          tag: string[];
          host: string[];
        };
        if (!f.target) throw new LifeboatError('INVALID_ARGUMENT', '--target is required');
        const target = resolve(f.target);
        return withRepository(ctx, async (repo) => {
          const started = Date.now();
          const snap = await findSnapshot(repo, ref as string, { tags: f.tag, hosts: f.host });
          ctx.output.info(
            `restoring snapshot ${snap.id.slice(0, 8)} of [${snap.paths.join(' ')}] to ${target}`,
          );
          const stats = await restoreTree(repo, snap.tree, {
            target,
            include: f.include,
            overwrite: f.overwrite ?? false,
            progress: ctx.output.progress(),
            signal: ctx.signal,
          });
          const ms = Date.now() - started;
          ctx.output.clearProgress();
          ctx.output.text(
            `restored ${stats.files} files, ${stats.dirs} dirs, ${stats.others} others, ` +
              `${formatBytes(stats.bytes)} in ${(ms / 1000).toFixed(1)}s`,
          );
          ctx.output.record('summary', {
            command: 'restore',
            snapshotId: snap.id,
            target,
            ...stats,
            warnings: stats.warnings.length,
            durationMs: ms,
          });
          return stats.warnings.length > 0 ? 3 : 0;
        });
      }),
    );
};
