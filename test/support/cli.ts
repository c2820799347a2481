/**
 * Support for end-to-end CLI tests: run the compiled `lifeboat` binary as a child process
 * (argument arrays only, never a shell), temp dirs that remove themselves, a source tree with
 * every kind of entry restic records, and a digest that compares two trees entry by entry.
 */
import { spawn } from 'node:child_process';
import { createCipheriv, createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import {
  chmod,
  chown,
  link,
  lstat,
  lutimes,
  mkdir,
  mkdtemp,
  open,
  readdir,
  readlink,
  rm,
  symlink,
  utimes,
  writeFile,
  type FileHandle,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sharedLifeboatBin } from './runtime-copy.js';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

/** This file runs from dist/test/support/, the launcher lives in bin/ at the project root. */
export const LIFEBOAT_BIN = fileURLToPath(new URL('../../../bin/lifeboat.js', import.meta.url));

export interface RunOptions {
  /** Added to a copy of this process's environment without any LIFEBOAT_* or RESTIC_* keys. */
  env?: Record<string, string>;
  input?: Buffer | string;
  /**
   * How `input` reaches the child's stdin: 'socket' (default) is what Node's child_process
   * (and sshd) hand over, a UNIX socketpair; 'fifo' is a named pipe, as a shell's
   * `producer | lifeboat …` gives; 'file' is a regular file, as `lifeboat … < dump.sql`.
   */
  inputVia?: 'socket' | 'fifo' | 'file';
  cwd?: string;
  /** SIGKILL the child after this long (default 120 s); the result then has `signal` set. */
  timeoutMs?: number;
  /** Run as this operating-system user (we are root; e.g. postgres, as archive_command runs). */
  user?: { uid: number; gid: number };
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  signal: NodeJS.Signals | null;
  /** stdout as bytes, for commands such as `dump` whose output is binary. */
  stdoutBytes: Buffer;
}

/** Runs `node bin/lifeboat.js ...args`. Never throws for a non-zero exit; see `lifeboatOk`. */
export async function lifeboat(args: string[], opts: RunOptions = {}): Promise<RunResult> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    // The parent's repository or password must never leak into a test's child.
    if (v !== undefined && !k.startsWith('LIFEBOAT_') && !k.startsWith('RESTIC_')) env[k] = v;
  }
  if (process.env.LIFEBOAT_DEBUG) env.LIFEBOAT_DEBUG = process.env.LIFEBOAT_DEBUG;
  Object.assign(env, opts.env ?? {});
  const via = opts.inputVia ?? 'socket';
  await using stdin = via === 'socket' ? undefined : await stdinSource(via, opts.input ?? '');
  // Another user may not be able to read the checkout: run a readable copy as that user.
  const bin = opts.user ? sharedLifeboatBin() : LIFEBOAT_BIN;
  const child = spawn(process.execPath, [bin, ...args], {
    cwd: opts.cwd ?? tmpdir(),
    env,
    stdio: [stdin ? stdin.fd : 'pipe', 'pipe', 'pipe'],
    ...(opts.user ? { uid: opts.user.uid, gid: opts.user.gid } : {}),
  });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout?.on('data', (b: Buffer) => out.push(b));
  child.stderr?.on('data', (b: Buffer) => err.push(b));
  if (child.stdin) {
    // A child that exits without reading its input must not crash the test with EPIPE.
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input ?? '');
  }
  const feeding = stdin?.feed();
  // Handled below, after the child exits; this only keeps an early failure from counting
  // as an unhandled rejection in the meantime.
  void feeding?.catch(() => undefined);
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
  try {
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>(
      (resolve, reject) => {
        child.once('error', reject);
        child.once('close', (c, s) => resolve([c, s]));
      },
    );
    await feeding;
    const stdoutBytes = Buffer.concat(out);
    return {
      code: code ?? -1,
      signal,
      stdout: stdoutBytes.toString('utf8'),
      stderr: Buffer.concat(err).toString('utf8'),
      stdoutBytes,
    };
  } finally {
    clearTimeout(timer);
  }
}

interface StdinSource extends AsyncDisposable {
  /** The descriptor to give the child as its stdin. */
  fd: number;
  /** Writes the input into a FIFO (then closes the writing end); nothing for a file. */
  feed(): Promise<void>;
}

async function stdinSource(via: 'fifo' | 'file', input: Buffer | string): Promise<StdinSource> {
  const dir = await mkdtemp(join(tmpdir(), 'lifeboat-stdin-'));
  const path = join(dir, via);
  const handles: FileHandle[] = [];
  const dispose = async () => {
    await Promise.all(handles.map((h) => h.close().catch(() => undefined)));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    if (via === 'file') {
      await writeFile(path, input);
      const reader = await open(path, 'r');
      handles.push(reader);
      return { fd: reader.fd, feed: () => Promise.resolve(), [Symbol.asyncDispose]: dispose };
    }
    await run('mkfifo', ['--', path]);
    // Opening either end of a FIFO waits for the other one: open both at once.
    const [reader, writer] = await Promise.all([open(path, 'r'), open(path, 'w')]);
    handles.push(reader, writer);
    return {
      fd: reader.fd,
      feed: async () => {
        // The child holds its own copy of the reading end; drop ours so EOF works.
        await reader.close();
        try {
          await writer.writeFile(input);
        } catch {
          // The child stopped reading early (EPIPE); its exit code tells the story.
        }
        await writer.close();
      },
      [Symbol.asyncDispose]: dispose,
    };
  } catch (err) {
    await dispose();
    throw err;
  }
}

/** Like `lifeboat`, but throws (with both outputs) unless the exit code is `expect` (0). */
export async function lifeboatOk(
  args: string[],
  opts: RunOptions = {},
  expect = 0,
): Promise<RunResult> {
  const r = await lifeboat(args, opts);
  if (r.code !== expect) {
    throw new Error(
      `lifeboat ${args.join(' ')}: exit ${r.code} (signal ${r.signal}), expected ${expect}\n` +
        `stdout: ${r.stdout.slice(0, 4000)}\nstderr: ${r.stderr.slice(0, 4000)}`,
    );
  }
  return r;
}

/** Parses NDJSON output (one JSON object per non-empty line). */
export function ndjson(text: string): Record<string, unknown>[] {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** The one record of `type` (e.g. "summary") in NDJSON output; throws when absent. */
export function record(text: string, type: string): Record<string, unknown> {
  const found = ndjson(text).filter((r) => r.type === type);
  if (found.length !== 1)
    throw new Error(`expected one ${type} record, got ${found.length}: ${text}`);
  return found[0]!;
}

export interface TempDir {
  path: string;
  [Symbol.asyncDispose](): Promise<void>;
}

/** A fresh directory under os.tmpdir(), removed on dispose (`await using d = await tempDir()`). */
export async function tempDir(prefix = 'lifeboat-cli-'): Promise<TempDir> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return {
    path,
    async [Symbol.asyncDispose]() {
      await rm(path, { recursive: true, force: true });
    },
  };
}

/** Deterministic pseudo-random bytes (AES-256-CTR keystream of `seed`), fast and repeatable. */
export function pseudoRandom(size: number, seed: string): Buffer {
  const key = createHash('sha256').update(seed).digest();
  const cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  return Buffer.concat([cipher.update(Buffer.alloc(size)), cipher.final()]);
}

const run = promisify(execFile);

/** Fixed timestamps with a millisecond part, so a restore that drops sub-seconds is caught. */
const BASE_TIME = 1_600_000_000.123;

/**
 * Fills `dir` (which must exist) with a varied tree: nested and empty directories, an empty
 * file, small text files with different modes, `randomBytes` of pseudo-random data split
 * over two files, relative, absolute and dangling symlinks, a hardlinked pair, a fifo, and
 * names with spaces, unicode and `<&>`. Every entry gets a distinct mtime with milliseconds.
 * When running as root one file is owned by 1234:1234 so restores of ownership are tested.
 */
export async function makeSourceTree(dir: string, opts: { randomBytes?: number } = {}) {
  const randomBytes = opts.randomBytes ?? 3 * 1024 * 1024;
  await mkdir(join(dir, 'docs/deep/deeper'), { recursive: true });
  await mkdir(join(dir, 'empty-dir'));
  await mkdir(join(dir, 'private'), { mode: 0o700 });
  await mkdir(join(dir, 'data'));
  await writeFile(join(dir, 'empty-file'), '');
  await writeFile(join(dir, 'docs/readme.txt'), 'Lifeboat test tree\n'.repeat(20));
  await writeFile(join(dir, 'docs/deep/deeper/note.md'), '# deep\n\nnothing to see\n');
  await writeFile(join(dir, 'docs/with space.txt'), 'a file name with a space\n');
  await writeFile(join(dir, 'docs/ünïcødé-日本語.txt'), 'unicode name ✓\n');
  await writeFile(join(dir, 'docs/a<&>b.txt'), 'markup characters in the name\n');
  await writeFile(join(dir, 'private/secret.key'), 'not really secret\n', { mode: 0o600 });
  await writeFile(join(dir, 'run.sh'), '#!/bin/sh\necho hello\n', { mode: 0o755 });
  await chmod(join(dir, 'run.sh'), 0o755);
  await chmod(join(dir, 'private/secret.key'), 0o600);
  const half = Math.floor(randomBytes / 2);
  await writeFile(join(dir, 'data/random-1.bin'), pseudoRandom(half, 'tree-1'));
  await writeFile(join(dir, 'data/random-2.bin'), pseudoRandom(randomBytes - half, 'tree-2'));
  await writeFile(join(dir, 'data/original.txt'), 'one inode, two names\n');
  await link(join(dir, 'data/original.txt'), join(dir, 'data/hardlink.txt'));
  await symlink('../docs/readme.txt', join(dir, 'data/link-relative'));
  await symlink('/etc/hostname', join(dir, 'link-absolute'));
  await symlink('does/not/exist', join(dir, 'link-dangling'));
  await run('mkfifo', ['--', join(dir, 'data/fifo')]);
  if (process.getuid?.() === 0) await chown(join(dir, 'docs/readme.txt'), 1234, 1234);
  await setTimes(dir, 0);
}

/** Gives every entry below `dir` a distinct mtime, children before their directory. */
async function setTimes(dir: string, start: number): Promise<number> {
  let n = start;
  for (const e of (await readdir(dir, { withFileTypes: true })).sort((a, b) =>
    cmp(a.name, b.name),
  )) {
    const p = join(dir, e.name);
    if (e.isDirectory()) n = await setTimes(p, n);
    const t = BASE_TIME + n++ * 3600.001;
    if (e.isSymbolicLink()) await lutimes(p, t, t);
    else await utimes(p, t, t);
  }
  const t = BASE_TIME + n++ * 3600.001;
  await utimes(dir, t, t);
  return n;
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * One line per entry below (and including) `dir`: relative path, type, permission bits,
 * uid:gid, mtime in ms, then the symlink target, the content's SHA-256 and size, and for
 * hardlinked files the first path of the same inode. Sorted by path, so
 * `assert.deepEqual(await treeDigest(a), await treeDigest(b))` shows exactly what differs.
 */
export async function treeDigest(dir: string): Promise<string[]> {
  const lines: string[] = [];
  const inodes = new Map<bigint, string>();
  const visit = async (path: string) => {
    const st = await lstat(path, { bigint: true });
    const rel = relative(dir, path) || '.';
    const mtimeMs = st.mtimeNs / 1_000_000n;
    const perm = (Number(st.mode) & 0o7777).toString(8).padStart(4, '0');
    let line = `${rel} ${kind(st)} ${perm} ${st.uid}:${st.gid} mtime=${mtimeMs}`;
    if (st.isSymbolicLink())
      line = `${rel} symlink ${st.uid}:${st.gid} mtime=${mtimeMs} -> ${await readlink(path)}`;
    else if (st.isFile()) {
      line += ` size=${st.size} sha256=${await sha256File(path)}`;
      if (st.nlink > 1n) {
        const first = inodes.get(st.ino);
        if (first === undefined) inodes.set(st.ino, rel);
        line += ` links=${st.nlink} inode-group=${first ?? rel}`;
      }
    }
    lines.push(line);
    if (st.isDirectory()) {
      for (const name of (await readdir(path)).sort(cmp)) await visit(join(path, name));
    }
  };
  await visit(dir);
  return lines;
}

function kind(st: {
  isFile(): boolean;
  isDirectory(): boolean;
  isFIFO(): boolean;
  isSymbolicLink(): boolean;
}) {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'dir';
  if (st.isFIFO()) return 'fifo';
  if (st.isSymbolicLink()) return 'symlink';
  return 'other';
}

export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** A snapshot as `lifeboat --json snapshots` prints it (the fields tests look at). */
export interface SnapshotJson {
  id: string;
  tree: string;
  paths: string[];
  hostname: string;
  tags?: string[];
  excludes?: string[];
}

export interface SourceAndRepo {
  dir: TempDir;
  /** A source tree made by makeSourceTree. */
  src: string;
  /** Where the repository goes (not created: the test inits it with the tool it tests). */
  repo: string;
  /** LIFEBOAT_REPOSITORY and LIFEBOAT_PASSWORD for the repository. */
  env: Record<string, string>;
}

/** The fixture most CLI tests start from: a temp dir holding a source tree and a repo path. */
export async function sourceAndRepo(
  prefix: string,
  password: string,
  tree: { randomBytes?: number } = {},
): Promise<SourceAndRepo> {
  const dir = await tempDir(prefix);
  const src = join(dir.path, 'src');
  const repo = join(dir.path, 'repo');
  await mkdir(src);
  await makeSourceTree(src, tree);
  return { dir, src, repo, env: { LIFEBOAT_REPOSITORY: repo, LIFEBOAT_PASSWORD: password } };
}
