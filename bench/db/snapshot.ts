/**
 * A frozen copy of the Lifeboat build for one benchmark run. Others rebuild dist/ while a
 * 10-minute run is going (a rebuild mid-run once swapped the code between two backups of one
 * test), so the run copies bin/ and dist/src/ into its work dir at the start, links
 * node_modules, and runs every Lifeboat command (the archive_command too) from the copy.
 */
import {
  cpSync,
  existsSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join, relative } from 'node:path';

export interface LifeboatCopy {
  /** bin/lifeboat.js of the copy. */
  readonly bin: string;
  /** Sources newer than their compiled file at the time of the copy (a build is missing). */
  readonly stale: string[];
}

function staleSources(root: string): string[] {
  const stale: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, e.name);
      if (e.isDirectory()) walk(path);
      else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) {
        const rel = relative(root, path);
        const js = join(root, 'dist', rel.replace(/\.ts$/, '.js'));
        if (!existsSync(js) || statSync(js).mtimeMs < statSync(path).mtimeMs) stale.push(rel);
      }
    }
  };
  walk(join(root, 'src'));
  return stale;
}

export function copyLifeboat(root: string, into: string): LifeboatCopy {
  const stale = staleSources(root);
  cpSync(join(root, 'bin'), join(into, 'bin'), { recursive: true });
  cpSync(join(root, 'dist', 'src'), join(into, 'dist', 'src'), { recursive: true });
  // "type": "module" must be in the nearest package.json for dist/*.js to load as ESM.
  writeFileSync(join(into, 'package.json'), cpPackage(root));
  symlinkSync(join(root, 'node_modules'), join(into, 'node_modules'));
  return { bin: join(into, 'bin', 'lifeboat.js'), stale };
}

function cpPackage(root: string): string {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as Record<
    string,
    unknown
  >;
  return JSON.stringify({ name: pkg.name, version: pkg.version, type: pkg.type }, null, 2);
}
