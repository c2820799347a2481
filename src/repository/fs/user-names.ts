/**
 * uid/gid to name, as restic records them in a node's `user` and `group` fields. restic asks
 * the C library (NSS); Lifeboat reads /etc/passwd and /etc/group itself, which gives the same
 * answer for local accounts and an empty name (field omitted) for ids they do not list.
 * Lookups are cached per process, as restic caches them.
 */
import { readFile } from 'node:fs/promises';
import { goLossyUtf8, INVALID_BYTE_MARK } from '../tree/go-string.js';

/**
 * Parses a colon-separated account file into id → name. Like Go's os/user file parser it
 * skips blank lines, `#` comments, lines with too few fields and NIS `+`/`-` entries, and the
 * first entry for an id wins.
 */
export function parseAccountFile(text: string, minFields: number): Map<number, string> {
  const names = new Map<number, string>();
  for (const line of text.split('\n')) {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const parts = trimmed.split(':');
    const name = parts[0] ?? '';
    const id = parts[2] ?? '';
    if (parts.length < minFields || name === '' || name[0] === '+' || name[0] === '-') continue;
    if (!/^\d+$/.test(id)) continue;
    const n = Number(id);
    if (!names.has(n)) names.set(n, name);
  }
  return names;
}

async function loadAccountFile(path: string, minFields: number): Promise<Map<number, string>> {
  try {
    return parseAccountFile(goLossyUtf8(await readFile(path), INVALID_BYTE_MARK), minFields);
  } catch {
    // No passwd/group file (a minimal container): every name is unknown, as with restic.
    return new Map();
  }
}

let users: Promise<Map<number, string>> | undefined;
let groups: Promise<Map<number, string>> | undefined;

/** The user name for a uid, or '' when /etc/passwd has none. */
export async function lookupUserName(uid: number): Promise<string> {
  users ??= loadAccountFile('/etc/passwd', 6);
  return (await users).get(uid) ?? '';
}

/** The group name for a gid, or '' when /etc/group has none. */
export async function lookupGroupName(gid: number): Promise<string> {
  groups ??= loadAccountFile('/etc/group', 4);
  return (await groups).get(gid) ?? '';
}
