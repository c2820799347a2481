/**
 * Turns a repository location into a ready Backend. This is the one place where decorators
 * are composed (STYLE.md #2): base backend → fault injection (tests only) → concurrency
 * limit → retry, so a retry waits for a free slot and an injected crash happens right at
 * the real write.
 *
 * Locations follow restic: `local:/path` or a plain path (relative ones are resolved
 * against the working directory). Remote schemes restic knows (`sftp:`, `s3:`, `rest:`…)
 * and any `scheme://` URL are recognised but UNSUPPORTED for now; other strings containing
 * a colon are paths, as in restic. `mem:<name>` is an in-memory store shared within the
 * process, for tests.
 */
import { resolve } from 'node:path';
import { LifeboatError } from '../core/errors.js';
import { silentLogger, type Logger } from '../core/ports.js';
import type { Backend } from './backend.js';
import { withFaults } from './decorators/faults.js';
import { withConcurrencyLimit } from './decorators/limit.js';
import { withRetry } from './decorators/retry.js';
import { createLocalBackend } from './local/local-backend.js';
import { getMemBackend } from './mem/mem-registry.js';

export interface OpenBackendOptions {
  env?: NodeJS.ProcessEnv;
  logger?: Logger;
  /** Operations in flight at once; default 4 (restic's default for local, too). */
  connections?: number;
}

const DEFAULT_CONNECTIONS = 4;

/** restic's backend prefixes that Lifeboat does not implement yet. */
const REMOTE_SCHEMES = new Set(['sftp', 's3', 'rest', 'b2', 'azure', 'gs', 'swift', 'rclone']);

/**
 * Test hook used by the crash-safety tests: when set to a positive integer k, the process
 * SIGKILLs itself right after the k-th successful save (see decorators/faults.ts), so tests
 * can prove that an interrupted backup leaves a repository that restic and Lifeboat accept.
 */
export const FAULT_KILL_ENV = 'LIFEBOAT_FAULT_KILL_AFTER_SAVES';

export function openBackend(location: string, options: OpenBackendOptions = {}): Backend {
  const env = options.env ?? process.env;
  let backend = openBase(location);
  const killAfter = env[FAULT_KILL_ENV];
  if (killAfter !== undefined && killAfter !== '') {
    if (!/^[1-9][0-9]*$/.test(killAfter)) {
      throw new LifeboatError(
        'INVALID_ARGUMENT',
        `${FAULT_KILL_ENV} must be a positive integer, got ${JSON.stringify(killAfter)}`,
      );
    }
    backend = withFaults(backend, { killAfterSaves: Number(killAfter) });
  }
  backend = withConcurrencyLimit(backend, options.connections ?? DEFAULT_CONNECTIONS);
  return withRetry(backend, { logger: options.logger ?? silentLogger });
}

function openBase(location: string): Backend {
  const scheme = /^([a-z][a-z0-9+.-]+):/.exec(location)?.[1];
  if (scheme === 'local') return openLocal(location.slice('local:'.length), location);
  if (scheme === 'mem') {
    const name = location.slice('mem:'.length);
    if (name === '') throw new LifeboatError('INVALID_ARGUMENT', 'mem: location needs a name');
    return getMemBackend(name);
  }
  if (scheme !== undefined && (REMOTE_SCHEMES.has(scheme) || location.startsWith(`${scheme}://`))) {
    throw new LifeboatError(
      'UNSUPPORTED',
      `repository location scheme "${scheme}:" is not supported yet (${redactLocation(location)})`,
      { details: { scheme } },
    );
  }
  return openLocal(location, location);
}

function openLocal(path: string, location: string): Backend {
  if (path === '') {
    throw new LifeboatError('INVALID_ARGUMENT', `repository location ${location} has no path`);
  }
  return createLocalBackend(resolve(path));
}

/**
 * Replaces the password in a URL's user info (`sftp://user:pass@host/…`, also nested as in
 * `rest:https://user:pass@host/`) with `***`, so the location can be logged (STYLE.md #11).
 * Per RFC 3986 the authority ends at the first `/`, `?` or `#`; a password must
 * percent-encode those. Locations without `://` (local paths) are returned unchanged.
 */
export function redactLocation(location: string): string {
  const start = location.indexOf('://');
  if (start < 0) return location;
  const head = location.slice(0, start + 3);
  const rest = location.slice(start + 3);
  const end = rest.search(/[/?#]/);
  const authority = end < 0 ? rest : rest.slice(0, end);
  const at = authority.lastIndexOf('@');
  const colon = authority.indexOf(':');
  if (at < 0 || colon < 0 || colon > at) return location;
  return `${head}${authority.slice(0, colon)}:***${authority.slice(at)}${rest.slice(authority.length)}`;
}
