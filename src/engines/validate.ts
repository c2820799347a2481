/**
 * Validation of names that reach external tools. Database names, users and hosts end up as
 * tool arguments, environment variables or connection strings; a value such as "-fx" (read as
 * an option), "host=evil dbname=postgres" (read as a conninfo string) or one with quotes or
 * newlines (read as SQL or config) is refused before anything runs (issue 3, "Bad input").
 */
import { LifeboatError } from '../core/errors.js';
import { IDENTIFIER_PATTERN, IDENTIFIER_RULE, isHost } from '../core/identifiers.js';

function shown(value: string): string {
  const printable = JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  return value.length > 40 ? `${printable} (${value.length} characters)` : printable;
}

/** Checks a database or user name; `what` names the setting (e.g. "services.app.source.user"). */
export function checkIdentifier(what: string, value: string): string {
  if (!IDENTIFIER_PATTERN.test(value)) {
    throw new LifeboatError(
      'INVALID_ARGUMENT',
      `${what}: ${shown(value)} is not an allowed name: ${IDENTIFIER_RULE}`,
      { details: { setting: what } },
    );
  }
  return value;
}

/** Checks a host name, IP address or (when `allowSocketDir`) an absolute socket directory. */
export function checkHost(what: string, value: string, allowSocketDir = true): string {
  if (!isHost(value, allowSocketDir)) {
    throw new LifeboatError(
      'INVALID_ARGUMENT',
      `${what}: ${shown(value)} is not a host name, IP address${allowSocketDir ? ' or absolute socket directory' : ''}`,
      { details: { setting: what } },
    );
  }
  return value;
}

export function checkPort(what: string, value: number): number {
  if (!Number.isInteger(value) || value < 1 || value > 65535) {
    throw new LifeboatError('INVALID_ARGUMENT', `${what}: ${String(value)} is not a TCP port`, {
      details: { setting: what },
    });
  }
  return value;
}
