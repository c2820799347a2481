/**
 * Private temporary directories for credentials handed to tools by file (PGPASSFILE,
 * `--defaults-extra-file`): mode 0700, files 0600, removed afterwards even on failure, so a
 * password is never in argv and never outlives the job (issue 3, "Credentials").
 */
import { chown, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface PrivateDir extends AsyncDisposable {
  readonly path: string;
  /** Writes a 0600 file in the directory and returns its path. */
  writeSecret(name: string, content: string): Promise<string>;
}

/** Creates a 0700 directory; `owner` hands it to the user a tool runs as (we are root). */
export async function createPrivateDir(owner?: { uid: number; gid: number }): Promise<PrivateDir> {
  const path = await mkdtemp(join(tmpdir(), 'lifeboat-secret-'));
  if (owner) await chown(path, owner.uid, owner.gid);
  return {
    path,
    async writeSecret(name, content) {
      const file = join(path, name);
      await writeFile(file, content, { mode: 0o600, flag: 'wx' });
      if (owner) await chown(file, owner.uid, owner.gid);
      return file;
    },
    async [Symbol.asyncDispose]() {
      await rm(path, { recursive: true, force: true });
    },
  };
}

/** One line of a PostgreSQL password file: fields separated by ":", with ":" and "\" escaped. */
export function pgpassLine(fields: {
  host: string;
  port: number;
  database: string;
  user: string;
  password: string;
}): string {
  const esc = (s: string) => s.replace(/[\\:]/g, (c) => `\\${c}`);
  const { host, port, database, user, password } = fields;
  return `${[esc(host), String(port), esc(database), esc(user), esc(password)].join(':')}\n`;
}

/** A MariaDB/MySQL option file with the password in a [client] group. */
export function mariadbOptionFile(password: string): string {
  // Option values in double quotes take backslash escapes; escape "\" and the quote itself.
  const quoted = password.replace(/[\\"]/g, (c) => `\\${c}`).replace(/\n/g, '\\n');
  return `[client]\npassword="${quoted}"\n`;
}
