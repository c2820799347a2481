/**
 * Resolves a secret reference at the moment of use, so that a plan can be loaded, printed and
 * checked without the secret, and the secret lives in memory no longer than needed. Errors
 * name the variable or the file, never the value (STYLE.md habit 11).
 */
import { readFile } from 'node:fs/promises';
import { LifeboatError } from '../core/errors.js';
import type { SecretRef } from './plan.js';

/** Error codes meaning "this file cannot serve as a password", as opposed to an I/O fault. */
const UNUSABLE_FILE = new Set(['ENOENT', 'ENOTDIR', 'EISDIR', 'EACCES', 'EPERM']);

/**
 * Returns the secret's value. Throws NO_PASSWORD when the variable is unset or empty, or the
 * file is missing, unreadable or empty; IO for other read failures. Whitespace around a
 * file's content is removed, exactly as restic's --password-file does, so the same file
 * opens the repository with a stock restic too.
 */
export async function resolveSecret(
  ref: SecretRef,
  env: NodeJS.ProcessEnv = process.env,
): Promise<string> {
  if ('env' in ref) {
    const value = env[ref.env];
    if (value === undefined || value === '') {
      throw new LifeboatError(
        'NO_PASSWORD',
        `environment variable ${ref.env} is ${value === undefined ? 'not set' : 'empty'}`,
        { details: { env: ref.env } },
      );
    }
    return value;
  }
  let text: string;
  try {
    text = await readFile(ref.file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? '';
    const reason = code === 'ENOENT' ? 'does not exist' : `cannot be read (${code || 'error'})`;
    throw new LifeboatError(
      UNUSABLE_FILE.has(code) ? 'NO_PASSWORD' : 'IO',
      `password file ${ref.file} ${reason}`,
      { cause: err, details: { file: ref.file } },
    );
  }
  const value = text.trim();
  if (value === '') {
    throw new LifeboatError('NO_PASSWORD', `password file ${ref.file} is empty`, {
      details: { file: ref.file },
    });
  }
  return value;
}
