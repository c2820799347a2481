import { resolve } from 'node:path';
import type { Register } from '../command-types.js';

export const registerDemo: Register = (program, wrap) => {
  program
    .command('demo')
    .description('back up sample data, restore it, compare it and check the repository')
    .option('--dir <dir>', 'working directory for the demo (replaced)', '.lifeboat-demo')
    .action(
      wrap(async (ctx, flags) => {
        const dir = resolve((flags as { dir: string }).dir);
        const { runDemo } = await import('../../recovery/demo.js');
        const t = performance.now();
        ctx.output.text(`Lifeboat demo in ${dir}`);
        const steps = await runDemo(
          dir,
          (loc) => ctx.backend(loc),
          (s) => {
            ctx.output.text(`  ${s.step.padEnd(40)} ${String(s.ms).padStart(6)} ms  ${s.detail}`);
            ctx.output.record('step', { ...s });
          },
        );
        const total = Math.round(performance.now() - t);
        ctx.output.text(`done in ${total} ms. A stock restic reads the same repository:`);
        ctx.output.text(`  restic -r ${dir}/repo --password-file ${dir}/password snapshots`);
        ctx.output.record('summary', { command: 'demo', dir, steps: steps.length, totalMs: total });
      }),
    );
};
