/**
 * Operating-system users for tools that must not run as root (PostgreSQL refuses to): looked
 * up in /etc/passwd by name, so no `getent` process and no native addon is needed.
 */
import { readFileSync } from 'node:fs';
import { LifeboatError } from '../core/errors.js';

export interface OsUserIds {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
}

export function lookupOsUser(name: string, passwd = '/etc/passwd'): OsUserIds {
  if (!/^[a-z_][a-z0-9_-]{0,31}\$?$/i.test(name)) {
    throw new LifeboatError(
      'INVALID_ARGUMENT',
      `${JSON.stringify(name.slice(0, 40))} is not a user name`,
    );
  }
  for (const line of readFileSync(passwd, 'utf8').split('\n')) {
    const [user, , uid, gid] = line.split(':');
    if (user === name && uid !== undefined && gid !== undefined) {
      return { name, uid: Number(uid), gid: Number(gid) };
    }
  }
  throw new LifeboatError('NOT_FOUND', `no operating-system user ${name} in ${passwd}`);
}

/**
 * The user a PostgreSQL server started by Lifeboat runs as: the named one, or when we are
 * root and none is named, "postgres"; undefined means "as ourselves".
 */
export function serverUser(name: string | undefined): OsUserIds | undefined {
  if (name !== undefined) return lookupOsUser(name);
  return process.getuid?.() === 0 ? lookupOsUser('postgres') : undefined;
}
