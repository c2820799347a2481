/**
 * The `users.sql` part: the server's accounts, roles and grants as SQL, so that a restore of a
 * whole server also restores who may log in (the `mysql` schema itself is never dumped: its
 * tables differ between server versions and restoring it would overwrite the target's root).
 *
 * Built from SHOW CREATE USER / SHOW GRANTS, which both MariaDB (10.2+) and MySQL (5.7+)
 * answer with statements that replay as they are. Built-in accounts (root, mariadb.sys,
 * mysql.*, PUBLIC, anonymous) are left out: the target has its own. Each account is also listed
 * on a `-- account {json}` comment line, which the restore reads to refuse (or with force,
 * drop) accounts that already exist on the target before anything is changed.
 */
import { LifeboatError } from '../../core/errors.js';
import { sqlString, quoteIdent } from './connection.js';

export interface Account {
  readonly user: string;
  /** "" for a MariaDB role. */
  readonly host: string;
  readonly role: boolean;
}

export type Flavour = 'mariadb' | 'mysql';

const BUILT_IN_USERS = new Set([
  'root',
  'mariadb.sys',
  'mysql',
  'mysql.sys',
  'mysql.session',
  'mysql.infoschema',
  'PUBLIC',
  '',
]);

const ACCOUNT_LINE = '-- account ';

/** Lists accounts (user, host, is-role) from mysql.user. */
export function accountsQuery(flavour: Flavour): string {
  return flavour === 'mariadb'
    ? 'SELECT User, Host, is_role FROM mysql.user;'
    : "SELECT User, Host, 'N' FROM mysql.user;";
}

/** The accounts worth restoring, sorted so the part is the same bytes run after run. */
export function selectAccounts(rows: readonly string[][]): Account[] {
  const accounts: Account[] = [];
  for (const [user, host, isRole] of rows) {
    if (user === undefined || host === undefined || BUILT_IN_USERS.has(user)) continue;
    accounts.push({ user, host, role: isRole === 'Y' });
  }
  const key = (a: Account) => `${a.role ? 0 : 1}\0${a.user}\0${a.host}`;
  return accounts.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

function accountName(a: Account): string {
  return a.role ? sqlString(a.user) : `${sqlString(a.user)}@${sqlString(a.host)}`;
}

/** One script asking the server for every account's CREATE and GRANT statements. */
export function showScript(accounts: readonly Account[], flavour: Flavour): string {
  const lines = ["SET SESSION sql_mode = '';"];
  // MySQL 8 prints caching_sha2 hashes as raw bytes unless asked for hex.
  if (flavour === 'mysql') lines.push('SET SESSION print_identified_with_as_hex = ON;');
  for (const a of accounts) {
    if (!a.role) lines.push(`SHOW CREATE USER ${accountName(a)};`);
    lines.push(`SHOW GRANTS FOR ${accountName(a)};`);
  }
  return `${lines.join('\n')}\n`;
}

/**
 * The part's text from the accounts and the server's answers to showScript (one statement per
 * row): roles first, then users, then all grants, so every GRANT finds its grantee and role.
 */
export function usersPart(accounts: readonly Account[], statements: readonly string[]): string {
  const out = [
    `-- Lifeboat users part: ${accounts.length} accounts with their grants; restore after the databases.`,
  ];
  for (const a of accounts) out.push(`${ACCOUNT_LINE}${JSON.stringify(a)}`);
  for (const a of accounts) if (a.role) out.push(`CREATE ROLE ${quoteIdent(a.user)};`);
  const creates = statements.filter((s) => /^CREATE USER /i.test(s));
  const grants = statements.filter((s) => !/^CREATE USER /i.test(s));
  for (const s of [...creates, ...grants]) out.push(`${s.replace(/;\s*$/, '')};`);
  return `${out.join('\n')}\n`;
}

/** The accounts a users part will create, from its comment lines. */
export function partAccounts(text: string): Account[] {
  const accounts: Account[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith(ACCOUNT_LINE)) continue;
    let value: unknown;
    try {
      value = JSON.parse(line.slice(ACCOUNT_LINE.length));
    } catch (e) {
      throw new LifeboatError(
        'INTEGRITY',
        `users.sql: unreadable account line ${JSON.stringify(line)}`,
        {
          cause: e,
        },
      );
    }
    const v = value as Partial<Account>;
    if (typeof v.user !== 'string' || typeof v.host !== 'string' || typeof v.role !== 'boolean') {
      throw new LifeboatError('INTEGRITY', `users.sql: bad account line ${JSON.stringify(line)}`);
    }
    accounts.push({ user: v.user, host: v.host, role: v.role });
  }
  return accounts;
}

/** "'app'@'%'" for messages. */
export function showAccount(a: Account): string {
  return a.role ? `role '${a.user}'` : `'${a.user}'@'${a.host}'`;
}

/** Statements dropping the given accounts if they exist (restore with force). */
export function dropScript(accounts: readonly Account[]): string {
  const lines = ["SET SESSION sql_mode = '';"];
  for (const a of accounts) {
    lines.push(
      a.role
        ? `DROP ROLE IF EXISTS ${quoteIdent(a.user)};`
        : `DROP USER IF EXISTS ${accountName(a)};`,
    );
  }
  return `${lines.join('\n')}\n`;
}
