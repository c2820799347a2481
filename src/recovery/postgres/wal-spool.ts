/**
 * The spool PostgreSQL's restore_command reads WAL from during a point-in-time restore, filled
 * while recovery already runs: the base backup is extracted first, PostgreSQL starts on it,
 * and the WAL comes out of the repository beside the replay instead of before it.
 *
 * restore_command runs `sh <spool>/.lifeboat-wal <file> <dest>`. For a file the restore will
 * supply (listed in .lifeboat-expected) the script waits until it appears (files land by
 * rename, so a present file is complete). It gives up when the fetch failed (.lifeboat-failed)
 * or the Lifeboat process that fills the spool is gone, with exit status 126: PostgreSQL
 * takes a status above 125 as fatal and stops, where a plain failure would end recovery and
 * promote a copy that lacks the rest of the WAL. Any other file (timeline history probes,
 * segments past the archive) fails at once with status 1, as a missing file must. The name of
 * the last expected file asked for is left in .lifeboat-wanted, so the fetch can stay a few
 * files ahead of the replay instead of racing it for the cores.
 */
import { chown, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

const SCRIPT = '.lifeboat-wal';
const EXPECTED = '.lifeboat-expected';
const FAILED = '.lifeboat-failed';
const WANTED = '.lifeboat-wanted';

const script = (pid: number) => `#!/bin/sh
# Written by Lifeboat for one restore: copies WAL file $1 from this spool to $2, waiting while
# Lifeboat is still fetching it.
d=$(dirname "$0")
if grep -qxF -- "$1" "$d/${EXPECTED}"; then
  echo "$1" > "$d/${WANTED}"
  while [ ! -f "$d/$1" ]; do
    [ -f "$d/${FAILED}" ] && exit 126
    [ -d /proc/${String(pid)} ] || exit 126
    sleep 0.02
  done
fi
exec cp -- "$d/$1" "$2"
`;

export interface WalSpool {
  /** The restore_command setting. */
  readonly restoreCommand: string;
  /** Makes waiting restore_command calls fail (the fetch failed). */
  fail(): Promise<void>;
  /** The expected file PostgreSQL asked for last, if any yet. */
  requested(): Promise<string | undefined>;
}

/**
 * Prepares `dir` (already created, owned by the server's OS user when given) for `names`.
 * `dir` must need no shell quoting beyond double quotes (the caller checks).
 */
export async function prepareWalSpool(
  dir: string,
  names: readonly string[],
  owner?: { uid: number; gid: number },
): Promise<WalSpool> {
  const files = [
    { name: SCRIPT, body: script(process.pid) },
    { name: EXPECTED, body: names.map((n) => `${n}\n`).join('') },
  ];
  for (const f of files) {
    const path = join(dir, f.name);
    await writeFile(path, f.body, { mode: 0o644, flag: 'wx' });
    if (owner) await chown(path, owner.uid, owner.gid);
  }
  return {
    restoreCommand: `sh "${join(dir, SCRIPT)}" "%f" "%p"`,
    async fail() {
      await writeFile(join(dir, FAILED), '', { mode: 0o644 }).catch(() => undefined);
    },
    async requested() {
      // Written by the script with a plain redirect: a read may catch it empty or half
      // written, which names no expected file and is ignored.
      const text = await readFile(join(dir, WANTED), 'utf8').catch(() => '');
      const name = text.trim();
      return names.includes(name) ? name : undefined;
    },
  };
}
