/**
 * Patterns for names that reach external tools (database names, users, hosts). Shared by the
 * plan schema (validation at the edge) and the engines (validation again before spawning), so
 * both refuse the same inputs: option-like "-fx", conninfo-like "host=evil", quotes, newlines.
 */

/** Names of repositories, tiers and services in the plan (they appear in snapshot tags). */
export const NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,62}$/;

/** Database and user names: what PostgreSQL, MariaDB and MongoDB accept unquoted, plus "-" inside. */
export const IDENTIFIER_PATTERN = /^[A-Za-z_][A-Za-z0-9_$.-]{0,62}$/;
export const IDENTIFIER_RULE =
  'use 1 to 63 letters, digits, "_", "$", "." or "-", starting with a letter or "_"';

/** A DNS name, IPv4 address, or IPv6 address (no brackets, no zone); never ends in "-". */
export const HOST_PATTERN =
  /^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252}[A-Za-z0-9.])?|[0-9A-Fa-f:.]{2,45})$/;

/** A Unix-socket directory: absolute, printable, no quotes, "=", ".." or whitespace. */
export const SOCKET_DIR_PATTERN = /^\/(?!.*\.\.)[A-Za-z0-9_./+@%-]{0,1023}$/;

export const HOST_RULE = 'use a host name, an IP address or an absolute socket directory';

export function isHost(value: string, allowSocketDir = true): boolean {
  return HOST_PATTERN.test(value) || (allowSocketDir && SOCKET_DIR_PATTERN.test(value));
}
