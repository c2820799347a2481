import { LifeboatError } from '../../core/errors.js';
import { prefetchBlobs } from '../../repository/restorer/prefetch.js';
import { findNode } from '../../repository/restorer/walk.js';
import { findSnapshot } from '../../repository/snapshot.js';
import type { Register } from '../command-types.js';
import { withRepository } from '../context.js';

export const registerDump: Register = (program, wrap) => {
  program
    .command('dump')
    .description('write one file from a snapshot to standard output')
    .argument('<snapshot>', 'snapshot id, unique prefix, or "latest"')
    .argument('<file>', 'path of the file inside the snapshot, e.g. /stdin or /etc/hosts')
    .action(
      wrap(async (ctx, ref, file) => {
        await withRepository(ctx, async (repo) => {
          await repo.loadIndex(ctx.signal);
          const snap = await findSnapshot(repo, ref as string);
          const node = await findNode(repo, snap.tree, file as string, ctx.signal);
          if (!node) {
            throw new LifeboatError(
              'NOT_FOUND',
              `${String(file)} is not in snapshot ${snap.id.slice(0, 8)}`,
            );
          }
          if (node.type !== 'file') {
            throw new LifeboatError(
              'INVALID_ARGUMENT',
              `${String(file)} is a ${node.type}, not a file`,
            );
          }
          for await (const buf of prefetchBlobs(repo, node.content ?? [], 4, ctx.signal)) {
            if (!process.stdout.write(buf)) {
              await new Promise((r) => process.stdout.once('drain', r));
            }
          }
        });
      }),
    );
};
