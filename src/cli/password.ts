/**
 * Where the repository password comes from, in order: LIFEBOAT_PASSWORD_FILE,
 * LIFEBOAT_PASSWORD, then a prompt on the terminal (never echoed). Without a TTY and without
 * either variable, the command fails with a clear error rather than hanging.
 */
import { LifeboatError } from '../core/errors.js';
import { resolveSecret } from '../plan/secrets.js';

export async function readPassword(
  env: NodeJS.ProcessEnv,
  opts: { passwordFile?: string | undefined; prompt?: string; confirm?: boolean } = {},
): Promise<string> {
  const file = opts.passwordFile ?? env.LIFEBOAT_PASSWORD_FILE;
  // Read and trimmed exactly like a plan's `{ file }` secret (and restic's --password-file).
  if (file) return resolveSecret({ file });
  if (env.LIFEBOAT_PASSWORD !== undefined && env.LIFEBOAT_PASSWORD !== '')
    return env.LIFEBOAT_PASSWORD;
  if (!process.stdin.isTTY || !process.stderr.isTTY) {
    throw new LifeboatError(
      'NO_PASSWORD',
      'no password: set LIFEBOAT_PASSWORD_FILE or LIFEBOAT_PASSWORD, or run on a terminal',
    );
  }
  const first = await promptHidden(opts.prompt ?? 'enter password for repository: ');
  if (opts.confirm) {
    const second = await promptHidden('enter password again: ');
    if (first !== second) throw new LifeboatError('INVALID_ARGUMENT', 'passwords do not match');
  }
  if (first === '') throw new LifeboatError('INVALID_ARGUMENT', 'empty password');
  return first;
}

async function promptHidden(question: string): Promise<string> {
  const stdin = process.stdin;
  process.stderr.write(question);
  stdin.setRawMode(true);
  stdin.resume();
  stdin.setEncoding('utf8');
  try {
    return await new Promise<string>((resolve, reject) => {
      let value = '';
      const onData = (chunk: string) => {
        for (const ch of chunk) {
          if (ch === '\r' || ch === '\n') {
            stdin.off('data', onData);
            process.stderr.write('\n');
            resolve(value);
            return;
          }
          if (ch === '\u0003') {
            stdin.off('data', onData);
            reject(new LifeboatError('CANCELLED', 'interrupted'));
            return;
          }
          if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
          else value += ch;
        }
      };
      stdin.on('data', onData);
    });
  } finally {
    stdin.setRawMode(false);
    stdin.pause();
  }
}
