import { hostname } from 'node:os';
import { LifeboatError } from '../../core/errors.js';
import { createKeyFile, parseKeyFile } from '../../repository/crypto/key-file.js';
import { currentUser } from '../../repository/open-repository.js';
import type { Repository } from '../../repository/repository.js';
import type { Register } from '../command-types.js';
import type { CliContext } from '../context.js';
import { withRepository } from '../context.js';
import { readPassword } from '../password.js';
import { table } from './snapshots.js';

/** The new password comes from LIFEBOAT_NEW_PASSWORD_FILE, --new-password-file or a prompt. */
async function newPassword(ctx: CliContext, file: string | undefined): Promise<string> {
  // Only the NEW_* sources may answer here: the current password's file or variable must not.
  const env: NodeJS.ProcessEnv = { LIFEBOAT_PASSWORD: ctx.env.LIFEBOAT_NEW_PASSWORD ?? '' };
  return readPassword(env, {
    passwordFile: file ?? ctx.env.LIFEBOAT_NEW_PASSWORD_FILE,
    prompt: 'enter new password: ',
    confirm: true,
  });
}

/** Saves a key file for the new password (from --new-password-file or the NEW_* sources). */
async function addKey(ctx: CliContext, repo: Repository, flags: unknown): Promise<string> {
  const password = await newPassword(ctx, (flags as { newPasswordFile?: string }).newPasswordFile);
  const { bytes, id } = await createKeyFile(password, repo.key, {
    username: currentUser(),
    hostname: hostname(),
  });
  await repo.backend.save({ type: 'key', name: id }, bytes);
  return id;
}

export const registerKey: Register = (program, wrap) => {
  const key = program
    .command('key')
    .description('manage the passwords (key files) of a repository');
  key
    .command('list')
    .description('list key files')
    .action(
      wrap(async (ctx) => {
        await withRepository(ctx, async (repo) => {
          const rows: string[][] = [];
          const all = [];
          for await (const id of repo.list('key')) {
            const k = parseKeyFile(await repo.backend.load({ type: 'key', name: id }));
            all.push({
              id,
              current: id === repo.keyId,
              userName: k.username,
              hostName: k.hostname,
              created: k.created,
            });
            rows.push([
              (id === repo.keyId ? '*' : ' ') + id.slice(0, 8),
              k.username ?? '',
              k.hostname ?? '',
              k.created ?? '',
            ]);
          }
          if (ctx.output.json) process.stdout.write(JSON.stringify(all) + '\n');
          else ctx.output.text(table([' ID', 'User', 'Host', 'Created'], rows));
        });
      }),
    );
  key
    .command('add')
    .description('add a new password (key file) for the same data')
    .option('--new-password-file <file>', 'read the new password from a file')
    .action(
      wrap(async (ctx, flags) => {
        await withRepository(ctx, async (repo) => {
          const id = await addKey(ctx, repo, flags);
          ctx.output.text(`saved new key ${id.slice(0, 8)}`);
          ctx.output.record('summary', { command: 'key add', keyId: id });
        });
      }),
    );
  key
    .command('remove')
    .description('remove a key file (not the one in use)')
    .argument('<id>', 'key id or unique prefix')
    .action(
      wrap(async (ctx, ref) => {
        await withRepository(ctx, async (repo) => {
          const matches: string[] = [];
          for await (const id of repo.list('key'))
            if (id.startsWith(ref as string)) matches.push(id);
          if (matches.length !== 1) {
            throw new LifeboatError(
              matches.length ? 'INVALID_ARGUMENT' : 'NOT_FOUND',
              `key ${String(ref)}: ${matches.length ? 'ambiguous' : 'not found'}`,
            );
          }
          if (matches[0] === repo.keyId) {
            throw new LifeboatError(
              'INVALID_ARGUMENT',
              'refusing to remove the key currently in use',
            );
          }
          await repo.backend.remove({ type: 'key', name: matches[0]! });
          ctx.output.text(`removed key ${matches[0]!.slice(0, 8)}`);
          ctx.output.record('summary', { command: 'key remove', keyId: matches[0] });
        });
      }),
    );
  key
    .command('passwd')
    .description('change the password: add a key with the new one, remove the old key')
    .option('--new-password-file <file>', 'read the new password from a file')
    .action(
      wrap(async (ctx, flags) => {
        await withRepository(ctx, async (repo) => {
          const id = await addKey(ctx, repo, flags);
          // The new key is durable before the old one goes: a crash in between leaves both.
          await repo.backend.remove({ type: 'key', name: repo.keyId });
          ctx.output.text(`saved new key ${id.slice(0, 8)}, removed ${repo.keyId.slice(0, 8)}`);
          ctx.output.record('summary', { command: 'key passwd', keyId: id, removed: repo.keyId });
        });
      }),
    );
};
