/**
 * A MariaDB/MySQL server as a restore target (issue 3). Each `db-<name>.sql` part is fed to the
 * `mariadb` client on stdin (the part creates its database); `users.sql` recreates accounts
 * and grants. Before anything is changed, every database the parts would write is checked for
 * tables and every account for existence: either refuses with TARGET_NOT_EMPTY unless `force`,
 * which drops those databases and accounts first, so the result equals the backup.
 */
import { LifeboatError } from '../../core/errors.js';
import type { PartReader, RestoreTarget } from '../engine.js';
import { runTool } from '../tool.js';
import { checkIdentifier } from '../validate.js';
import { batchInserts } from './batch-inserts.js';
import {
  checkLogin,
  classifyMariadb,
  clientTool,
  query,
  quoteIdent,
  sqlString,
  where,
  withLoginArgs,
  type MariadbLogin,
} from './connection.js';
import { USERS_PART } from './source.js';
import { dropScript, partAccounts, showAccount, type Account } from './users.js';

export interface MariadbTarget extends MariadbLogin {
  /** Replace databases that already have tables and accounts that already exist. */
  readonly force?: boolean;
}

/** users.sql is statements for a few accounts; anything near this size is not ours. */
const MAX_USERS_PART = 64 << 20;

type Plan = { kind: 'db'; part: string; database: string } | { kind: 'users'; part: string };

function planParts(parts: readonly string[], what: string): Plan[] {
  const seen = new Set<string>();
  return parts.map((part) => {
    if (seen.has(part))
      throw new LifeboatError('INVALID_ARGUMENT', `${what}: part ${part} given twice`);
    seen.add(part);
    if (part === USERS_PART) return { kind: 'users', part };
    const m = /^db-(.+)\.sql$/.exec(part);
    if (m?.[1] === undefined) {
      throw new LifeboatError(
        'INVALID_ARGUMENT',
        `${what}: ${JSON.stringify(part)} is not a MariaDB part (db-<name>.sql or users.sql)`,
      );
    }
    return {
      kind: 'db',
      part,
      database: checkIdentifier(`${what}: database of part ${part}`, m[1]),
    };
  });
}

async function readAll(read: PartReader, name: string, signal?: AbortSignal): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of read(name, signal)) {
    size += c.length;
    if (size > MAX_USERS_PART)
      throw new LifeboatError('INTEGRITY', `${name} is larger than ${MAX_USERS_PART} bytes`);
    chunks.push(Buffer.from(c));
  }
  return Buffer.concat(chunks).toString('utf8');
}

export function createMariadbTarget(target: MariadbTarget, what = 'mariadb target'): RestoreTarget {
  checkLogin(what, target);
  const at = where(target);

  const feed = (input: AsyncIterable<Uint8Array> | string, doing: string, signal?: AbortSignal) =>
    withLoginArgs(target, (args) =>
      runTool(
        {
          command: clientTool(target),
          // --binary-mode: a dump's data may hold "\0" and "\r", which must reach the server as is.
          args: [...args, '--batch', '--binary-mode'],
          what: `${doing} on ${at}`,
          classify: classifyMariadb,
        },
        { input, ...(signal ? { signal } : {}) },
      ),
    );

  return {
    kind: 'mariadb',
    async restore(parts, read, signal) {
      const plan = planParts(parts, what);
      const databases = plan.flatMap((p) => (p.kind === 'db' ? [p.database] : []));
      let usersText: string | undefined;
      let accounts: Account[] = [];
      if (plan.some((p) => p.kind === 'users')) {
        usersText = await readAll(read, USERS_PART, signal);
        accounts = partAccounts(usersText);
      }

      // Everything is checked before anything is changed.
      const problems: string[] = [];
      if (databases.length > 0) {
        const rows = await query(
          target,
          `SELECT TABLE_SCHEMA, COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA IN (${databases.map(sqlString).join(', ')}) GROUP BY TABLE_SCHEMA;`,
          `checking the databases on ${at}`,
          signal,
        );
        for (const [db, count] of rows)
          problems.push(`database ${db ?? '?'} has ${count ?? '?'} tables`);
      }
      if (accounts.length > 0) {
        const rows = await query(
          target,
          'SELECT User, Host FROM mysql.user;',
          `checking the accounts on ${at}`,
          signal,
        );
        const existing = new Set(rows.map(([u, h]) => `${u ?? ''}\0${h ?? ''}`));
        const clash = accounts.filter((a) => existing.has(`${a.user}\0${a.host}`));
        if (clash.length > 0) {
          const shown = clash.slice(0, 5).map(showAccount).join(', ');
          const more = clash.length > 5 ? ` and ${clash.length - 5} more` : '';
          problems.push(
            clash.length > 1
              ? `accounts ${shown}${more} already exist`
              : `account ${shown} already exists`,
          );
        }
      }
      if (problems.length > 0 && target.force !== true) {
        throw new LifeboatError(
          'TARGET_NOT_EMPTY',
          `${what} ${at} already holds data: ${problems.join('; ')}; restore elsewhere or set force to replace it`,
          { details: { target: at, problems } },
        );
      }

      const done: string[] = [];
      const notes: string[] = [];
      for (const p of plan) {
        signal?.throwIfAborted();
        if (p.kind === 'db') {
          if (target.force === true)
            await feed(
              `DROP DATABASE IF EXISTS ${quoteIdent(p.database)};\n`,
              `dropping database ${p.database}`,
              signal,
            );
          await feed(
            batchInserts(read(p.part, signal)),
            `restore of database ${p.database}`,
            signal,
          );
          notes.push(`restored database ${p.database} on ${at}`);
        } else {
          const drop = target.force === true ? dropScript(accounts) : '';
          await feed(drop + (usersText ?? ''), 'restore of accounts and grants', signal);
          notes.push(`restored ${accounts.length} accounts with their grants on ${at}`);
        }
        done.push(p.part);
      }
      return { parts: done, notes };
    },
  };
}
