/**
 * The `lifeboat` command line. Commands register themselves from commands/*.ts (listed in
 * registry.ts); every action runs through `runAction`, the one place where errors become
 * exit codes (EXIT_CODES in core/errors.ts) and where SIGINT becomes cancellation (130).
 */
import { Command, CommanderError, Option } from 'commander';
import { EXIT_CODES, LifeboatError, toLifeboatError } from '../core/errors.js';
import { CliContext, type GlobalOptions } from './context.js';
import type { ActionFn } from './command-types.js';
import { COMMANDS } from './registry.js';

export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const abort = new AbortController();
  const onSignal = () => abort.abort(new LifeboatError('CANCELLED', 'interrupted'));
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // `lifeboat ls latest | head` closes the pipe early: that ends the output, not in a crash.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(exitCode);
    throw err;
  });
  let exitCode = 0;
  const program = new Command('lifeboat')
    .description('Disaster recovery you can prove: backups in the restic format, restores, checks.')
    .version('0.1.0')
    .option('-r, --repo <location>', 'repository location (or LIFEBOAT_REPOSITORY)')
    .option('--password-file <file>', 'read the password from a file (or LIFEBOAT_PASSWORD_FILE)')
    .option('--json', 'print NDJSON records instead of text')
    .option('-q, --quiet', 'no progress and no informational messages')
    .addOption(
      new Option('--compression <mode>', 'compression for new data').choices([
        'auto',
        'off',
        'max',
      ]),
    )
    .showHelpAfterError()
    .exitOverride();

  const runAction = (fn: ActionFn) => {
    return async (...args: unknown[]) => {
      const globals = program.opts<GlobalOptions>();
      const ctx = new CliContext(globals, env, abort.signal);
      try {
        const code = await fn(ctx, ...args);
        exitCode = typeof code === 'number' ? code : 0;
      } catch (err) {
        const e = abort.signal.aborted
          ? new LifeboatError('CANCELLED', 'interrupted')
          : toLifeboatError(err);
        if (e.code === 'CANCELLED') ctx.output.info('interrupted');
        else ctx.output.error(e.code, e.message, e.details);
        if (e.code === 'INTERNAL' && env.LIFEBOAT_DEBUG) console.error(err);
        exitCode = EXIT_CODES[e.code];
      }
    };
  };
  for (const register of COMMANDS) register(program, runAction);

  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version requests end here with code 0; usage errors with 1.
      exitCode = err.exitCode === 0 ? 0 : 1;
    } else throw err;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  return exitCode;
}
