import { LifeboatError } from '../../core/errors.js';
import { checkRepository } from '../../repository/checker/checker.js';
import { lockRepository } from '../../repository/lock.js';
import type { Register } from '../command-types.js';
import { withRepository } from '../context.js';

export function parseSubset(v: string): number {
  const m = /^([0-9]+(?:\.[0-9]+)?)%$/.exec(v);
  const pct = m ? Number(m[1]) : NaN;
  if (!(pct > 0 && pct <= 100)) {
    throw new LifeboatError(
      'INVALID_ARGUMENT',
      `--read-data-subset must be a percentage like 10%, not ${v}`,
    );
  }
  return pct / 100;
}

export const registerCheck: Register = (program, wrap) => {
  program
    .command('check')
    .description('check the repository structure, and with --read-data every byte')
    .option('--read-data', 'read and verify all data in all packs')
    .option('--read-data-subset <n%>', 'read and verify a random n% of the packs')
    .addHelpText(
      'after',
      '\nExit codes: 0 no errors, 1 errors found (each names the pack, blob, tree or snapshot).',
    )
    .action(
      wrap(async (ctx, flags) => {
        const f = flags as { readData?: boolean; readDataSubset?: string };
        const subset = f.readDataSubset ? parseSubset(f.readDataSubset) : undefined;
        return withRepository(ctx, async (repo) => {
          const lock = await lockRepository(repo, true);
          try {
            const result = await checkRepository(repo, {
              readData: f.readData ?? false,
              ...(subset !== undefined ? { readDataSubset: subset } : {}),
              progress: ctx.output.progress(),
              signal: ctx.signal,
            });
            ctx.output.clearProgress();
            for (const w of result.warnings) {
              ctx.output.info(`note: ${w.message}`);
              ctx.output.record('warning', { ...w });
            }
            for (const e of result.errors) {
              ctx.output.text(`error: ${e.message}`);
              ctx.output.record('problem', { ...e });
            }
            ctx.output.text(
              `checked ${result.snapshots} snapshots, ${result.trees} trees, ${result.blobs} blobs, ` +
                `${result.packs} packs (${result.packsRead} read in full): ` +
                (result.errors.length ? `${result.errors.length} errors` : 'no errors were found'),
            );
            ctx.output.record('summary', {
              command: 'check',
              errors: result.errors.length,
              warnings: result.warnings.length,
              snapshots: result.snapshots,
              trees: result.trees,
              blobs: result.blobs,
              packs: result.packs,
              packsRead: result.packsRead,
            });
            return result.errors.length > 0 ? 1 : 0;
          } finally {
            await lock.release();
          }
        });
      }),
    );
};
