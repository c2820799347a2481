/**
 * Stand-in command-line tools for engine unit tests: shell scripts in a private binDir that
 * record every call (argv, chosen environment variables, and the content and mode of any
 * credentials file named by --defaults-extra-file= or --config=, read while it exists) and then
 * run a body of shell. They prove what reaches argv, that secrets do not, and that nothing runs
 * at all for hostile settings.
 */
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface FakeCall {
  readonly tool: string;
  readonly argv: string[];
  readonly env: Record<string, string>;
  /** Credentials files named in argv: path → content and octal mode ("600"). */
  readonly files: Record<string, { content: string; mode: string }>;
}

export interface FakeTools extends AsyncDisposable {
  /** The binDir; also `$FAKE` inside the script bodies. */
  readonly dir: string;
  calls(): Promise<FakeCall[]>;
}

const RECORD = `
const fs = require('fs');
const [log, envNames, tool, ...argv] = process.argv.slice(2);
const env = {};
for (const k of envNames.split(',')) if (k && process.env[k] !== undefined) env[k] = process.env[k];
const files = {};
for (const a of argv) {
  const m = /^--(?:defaults-extra-file|config)=(.*)$/.exec(a);
  if (!m) continue;
  try {
    files[m[1]] = { content: fs.readFileSync(m[1], 'utf8'), mode: (fs.statSync(m[1]).mode & 0o777).toString(8) };
  } catch (e) {
    files[m[1]] = { content: 'unreadable: ' + e.code, mode: '' };
  }
}
fs.appendFileSync(log, JSON.stringify({ tool, argv, env, files }) + '\\n');
`;

/** `scripts` maps a tool name to the shell run after the call is recorded. */
export async function fakeTools(
  scripts: Record<string, string>,
  envNames: readonly string[] = [],
): Promise<FakeTools> {
  const dir = await mkdtemp(join(tmpdir(), 'lifeboat-fake-tools-'));
  const log = join(dir, 'calls.log');
  const recorder = join(dir, 'record.cjs');
  await writeFile(recorder, RECORD);
  for (const [name, body] of Object.entries(scripts)) {
    const script = [
      '#!/bin/sh',
      `FAKE='${dir}'`,
      `node '${recorder}' '${log}' '${envNames.join(',')}' "$(basename "$0")" "$@"`,
      body,
      '',
    ].join('\n');
    await writeFile(join(dir, name), script);
    await chmod(join(dir, name), 0o755);
  }
  return {
    dir,
    async calls() {
      const text = await readFile(log, 'utf8').catch(() => '');
      return text
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as FakeCall);
    },
    [Symbol.asyncDispose]: () => rm(dir, { recursive: true, force: true }),
  };
}

export async function collect(it: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of it) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks);
}
