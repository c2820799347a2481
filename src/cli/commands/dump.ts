import { openSnapshotFile } from '../../repository/snapshot-file.js';
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
      wrap(async (ctx, ref, path) => {
        await withRepository(ctx, async (repo) => {
          const snap = await findSnapshot(repo, ref as string);
          const file = await openSnapshotFile(repo, snap, path as string, ctx.signal);
          for await (const buf of file.content) {
            if (!process.stdout.write(buf)) {
              await new Promise((r) => process.stdout.once('drain', r));
            }
          }
        });
      }),
    );
};
