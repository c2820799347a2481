import type { Register } from '../command-types.js';

export const registerPlan: Register = (program, wrap) => {
  const plan = program.command('plan').description('work with the DR plan (lifeboat.yaml)');
  plan
    .command('validate')
    .description('validate a plan; errors name the YAML path and line')
    .argument('[file]', 'plan file', 'lifeboat.yaml')
    .action(
      wrap(async (ctx, file) => {
        const { loadPlan } = await import('../../plan/load-plan.js');
        const p = await loadPlan(file as string);
        const services = p.serviceOrder;
        ctx.output.text(
          `${String(file)}: valid; ${Object.keys(p.repositories).length} repositories, ` +
            `${services.length} services (order: ${services.join(' → ')})`,
        );
        ctx.output.record('summary', {
          command: 'plan validate',
          file,
          valid: true,
          repositories: Object.keys(p.repositories),
          services,
        });
      }),
    );
};
