import { initRepository } from '../../repository/open-repository.js';
import type { Register } from '../command-types.js';
import { readPassword } from '../password.js';

export const registerInit: Register = (program, wrap) => {
  program
    .command('init')
    .description('create a new repository (restic format v2, readable by restic)')
    .addHelpText('after', '\nExample:\n  LIFEBOAT_PASSWORD_FILE=pw lifeboat -r /srv/backup init')
    .action(
      wrap(async (ctx) => {
        const location = ctx.repositoryLocation();
        const password = await readPassword(ctx.env, {
          passwordFile: ctx.globals.passwordFile,
          prompt: 'enter password for new repository: ',
          confirm: true,
        });
        const backend = ctx.backend(location);
        try {
          const repo = await initRepository(backend, password, { compression: ctx.compression() });
          ctx.output.text(
            `created repository ${repo.config.id.slice(0, 10)} at ${backend.location}`,
          );
          ctx.output.text('Keep the password safe: without it the data cannot be read.');
          ctx.output.record('summary', {
            command: 'init',
            repositoryId: repo.config.id,
            location: backend.location,
            version: repo.config.version,
          });
        } finally {
          await backend.close();
        }
      }),
    );
};
