import { removeLocks } from '../../repository/lock.js';
import type { Register } from '../command-types.js';
import { withRepository } from '../context.js';

export const registerUnlock: Register = (program, wrap) => {
  program
    .command('unlock')
    .description('remove stale locks (left by crashed processes), or all with --remove-all')
    .option('--remove-all', 'remove every lock, even those of running processes')
    .action(
      wrap(async (ctx, flags) => {
        const all = (flags as { removeAll?: boolean }).removeAll ?? false;
        await withRepository(ctx, async (repo) => {
          const removed = await removeLocks(repo, all);
          ctx.output.text(`removed ${removed.length} ${all ? '' : 'stale '}locks`);
          ctx.output.record('summary', { command: 'unlock', removed });
        });
      }),
    );
};
