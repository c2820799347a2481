/**
 * A copy of Lifeboat's runtime (bin/, dist/src/, package.json and the production packages)
 * in a world-readable temp dir, for tests that run `lifeboat` as another user: PostgreSQL
 * runs archive_command as `postgres`, and the checkout may sit where that user cannot read
 * (/root, a 0700 temp dir of CI). Made once per test process, removed when it exits.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

let copy: string | undefined;

/** The path of bin/lifeboat.js in a copy every user can read and run. */
export function sharedLifeboatBin(): string {
  if (copy === undefined) {
    const dir = mkdtempSync(join(tmpdir(), 'lifeboat-runtime-'));
    process.once('exit', () => {
      rmSync(dir, { recursive: true, force: true });
    });
    cpSync(join(ROOT, 'bin'), join(dir, 'bin'), { recursive: true });
    cpSync(join(ROOT, 'dist', 'src'), join(dir, 'dist', 'src'), { recursive: true });
    cpSync(join(ROOT, 'package.json'), join(dir, 'package.json'));
    const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { dev?: boolean }>;
    };
    for (const [path, meta] of Object.entries(lock.packages)) {
      if (path === '' || meta.dev === true) continue;
      try {
        cpSync(join(ROOT, path), join(dir, path), { recursive: true });
      } catch {
        // an optional package for another platform is not installed
      }
    }
    // mkdtemp makes 0700 dirs, cpSync keeps modes: open the copy up for reading.
    chmodSync(dir, 0o755);
    execFileSync('chmod', ['-R', 'a+rX', dir]);
    copy = join(dir, 'bin', 'lifeboat.js');
  }
  return copy;
}
