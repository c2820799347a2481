import { resolve } from 'node:path';
import { LifeboatError } from '../../core/errors.js';
import { restoreTree } from '../../repository/restorer/restorer.js';
import { findSnapshot } from '../../repository/snapshot.js';
import type { Register } from '../command-types.js';
import { withRepository } from '../context.js';
import { formatBytes } from '../output.js';

const collect = (v: string, prev: string[]) => [...prev, v];

export const registerRestore: Register = (program, wrap) => {
  program
    .command('restore')
    .description('restore a snapshot (or parts of it) into a directory')
    .argument('<snapshot>', 'snapshot id, unique prefix, or "latest"')
    .requiredOption('-t, --target <dir>', 'directory to restore into (created if missing)')
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
      '\nExample:\n  lifeboat -r /srv/repo restore latest --target /tmp/r --include /etc/nginx',
    )
    .action(
      wrap(async (ctx, ref, flags) => {
        const f = flags as {
          target: string;
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
