/**
 * The quick answer of `lifeboat wal push` for a file an earlier call already stored ahead of
 * the archiver (recovery/wal/wal-ahead.ts): bin/lifeboat.js tries it before the CLI loads,
 * so the call costs Node's start, one read and one hash of the file (~0.1 s instead of
 * ~0.5 s). It understands the plain forms of the command line only; anything else, and any
 * file without a matching mark, goes the normal way (undefined).
 */
import { basename } from 'node:path';
import { NAME_PATTERN } from '../core/identifiers.js';
import { aheadSpool, markSource, takeMark } from '../recovery/wal/wal-ahead.js';
import { planFileFrom } from './service-context.js';

export interface WalPushArgs {
  readonly service: string;
  readonly file: string;
  readonly plan?: string;
  readonly repo?: string;
  readonly json: boolean;
  readonly ahead: boolean;
}

const GLOBAL_VALUE = new Set(['-r', '--repo', '--password-file', '--compression']);
const FLAGS = new Set(['--json', '-q', '--quiet']);

/** `[globals] wal push [--plan F] [--no-ahead] <service> <file>`, or undefined. */
export function parseWalPush(argv: readonly string[]): WalPushArgs | undefined {
  let repo: string | undefined;
  let plan: string | undefined;
  let json = false;
  let ahead = true;
  const words: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const [flag, inline] = a.startsWith('--') && a.includes('=') ? a.split(/=(.*)/s) : [a];
    if (flag === undefined) return undefined;
    if (GLOBAL_VALUE.has(flag) || flag === '--plan') {
      const value = inline ?? argv[++i];
      if (value === undefined) return undefined;
      if (flag === '-r' || flag === '--repo') repo = value;
      if (flag === '--plan') {
        if (words.length < 2) return undefined; // --plan belongs to `wal push`
        plan = value;
      }
    } else if (FLAGS.has(a)) {
      if (a === '--json') json = true;
    } else if (a === '--no-ahead') {
      ahead = false;
    } else if (a.startsWith('-')) {
      return undefined;
    } else {
      words.push(a);
    }
  }
  const [wal, push, service, file, ...rest] = words;
  if (wal !== 'wal' || push !== 'push' || !service || !file || rest.length > 0) return undefined;
  return {
    service,
    file,
    json,
    ahead,
    ...(plan !== undefined ? { plan } : {}),
    ...(repo !== undefined ? { repo } : {}),
  };
}

/** The line `wal push` prints when the file was already stored. */
export function alreadyArchivedLine(name: string, snapshotId: string): string {
  return `${name} is already archived with the same content (snapshot ${snapshotId.slice(0, 8)})`;
}

/** Exit code 0 when the file's mark answered the call; undefined to run the full command. */
export async function walPushFast(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  out: NodeJS.WritableStream = process.stdout,
): Promise<number | undefined> {
  const args = parseWalPush(argv);
  if (!args?.ahead || !NAME_PATTERN.test(args.service)) return undefined;
  const repo = args.repo ?? env.LIFEBOAT_REPOSITORY;
  const planFile = args.plan === undefined && repo ? undefined : planFileFrom(args.plan, env);
  const where = planFile !== undefined ? { plan: planFile } : repo ? { repo } : undefined;
  if (!where) return undefined;
  const source = await markSource(where);
  const spool = await aheadSpool(args.file, args.service);
  if (source === undefined || spool === undefined) return undefined;
  const taken = await takeMark(spool, source, args.file);
  if (taken === undefined) return undefined;
  const name = basename(args.file);
  const { snapshotId } = taken;
  out.write(
    args.json
      ? JSON.stringify({
          command: 'wal push',
          service: args.service,
          name,
          status: 'unchanged',
          snapshotId,
          bytes: taken.bytes,
          pushedAhead: true,
          type: 'summary',
        }) + '\n'
      : alreadyArchivedLine(name, snapshotId) + '\n',
  );
  return 0;
}
