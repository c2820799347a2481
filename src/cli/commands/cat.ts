import { LifeboatError } from '../../core/errors.js';
import { parseKeyFile } from '../../repository/crypto/key-file.js';
import { formatPolynomial } from '../../repository/chunker/polynomial.js';
import { findSnapshot } from '../../repository/snapshot.js';
import type { Register } from '../command-types.js';
import { withRepository } from '../context.js';

const KINDS = ['config', 'key', 'index', 'snapshot', 'blob', 'tree', 'masterkey'];

export const registerCat: Register = (program, wrap) => {
  program
    .command('cat')
    .description('print a repository object, decrypted (for debugging)')
    .argument('<kind>', KINDS.join('|'))
    .argument('[id]', 'object id (snapshot: id, prefix or latest)')
    .addHelpText('after', '\nblob prints raw data blob bytes; tree prints a tree blob as JSON.')
    .action(
      wrap(async (ctx, kind, id) => {
        const k = kind as string;
        if (!KINDS.includes(k))
          throw new LifeboatError(
            'INVALID_ARGUMENT',
            `unknown kind ${k}; one of ${KINDS.join(', ')}`,
          );
        const ref = id as string | undefined;
        if (k !== 'config' && k !== 'masterkey' && !ref) {
          throw new LifeboatError('INVALID_ARGUMENT', `cat ${k} needs an id`);
        }
        await withRepository(ctx, async (repo) => {
          const print = (v: unknown) => process.stdout.write(JSON.stringify(v, null, 2) + '\n');
          switch (k) {
            case 'config':
              return print({
                version: repo.config.version,
                id: repo.config.id,
                chunker_polynomial: formatPolynomial(repo.config.chunkerPolynomial),
              });
            case 'masterkey':
              return print(repo.key.toJSON());
            case 'key':
              return print(parseKeyFile(await repo.backend.load({ type: 'key', name: ref! })));
            case 'index':
              return print(await repo.loadUnpacked('index', ref!));
            case 'snapshot': {
              const s = await findSnapshot(repo, ref!);
              return print(await repo.loadUnpacked('snapshot', s.id));
            }
            case 'blob':
            case 'tree': {
              await repo.loadIndex(ctx.signal);
              const type = k === 'tree' || repo.index.has('tree', ref!) ? 'tree' : 'data';
              const data = await repo.loadBlob(type, ref!);
              process.stdout.write(data);
              return;
            }
          }
          return;
        });
      }),
    );
};
