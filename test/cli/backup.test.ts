/**
 * `lifeboat backup` end to end, as a user runs it: parent detection and --force, --stdin from
 * a pipe, a file or a socket, --exclude, --one-file-system, the partial-backup exit code 3,
 * and plan mode (services in dependency order, tagged by service).
 */
import assert from 'node:assert/strict';
import { chmod, mkdir, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  lifeboat,
  lifeboatOk,
  ndjson,
  pseudoRandom,
  record,
  type SnapshotJson as Snap,
  type TempDir,
  sourceAndRepo,
} from '../support/cli.js';
import { resticOk } from '../support/restic.js';

const PASSWORD = 'commands test';
/** Files that makeSourceTree creates (regular files, the hardlinked pair counted twice). */
const TREE_FILES = 12;

const filesSeen = (s: Record<string, unknown>) =>
  Number(s.filesNew) + Number(s.filesChanged) + Number(s.filesUnmodified);

describe('lifeboat backup', () => {
  let dir: TempDir;
  let repo: string;
  let src: string;
  let env: Record<string, string>;
  const backup = async (args: string[], expect = 0) =>
    record((await lifeboatOk(['--json', 'backup', ...args], { env }, expect)).stdout, 'summary');
  const dataBlobs = async () =>
    (await resticOk(['list', 'blobs'], { repo, password: PASSWORD })).stdout
      .split('\n')
      .filter((l) => l.startsWith('data '))
      .sort();
  const snapshots = async (...filters: string[]) =>
    JSON.parse((await lifeboatOk(['--json', 'snapshots', ...filters], { env })).stdout) as Snap[];

  before(async () => {
    ({ dir, repo, src, env } = await sourceAndRepo('lb-commands-', PASSWORD, {
      randomBytes: 1024 * 1024,
    }));
    await lifeboatOk(['init'], { env });
  });
  after(() => dir[Symbol.asyncDispose]());

  test('backup twice: the second run reads nothing, --force reads everything', async () => {
    const first = await backup([src]);
    assert.deepEqual(
      [first.filesNew, first.filesChanged, first.filesUnmodified],
      [TREE_FILES, 0, 0],
    );
    const dataBefore = await dataBlobs();
    const second = await backup([src]);
    assert.deepEqual(
      [second.filesNew, second.filesChanged, second.filesUnmodified],
      [0, 0, TREE_FILES],
    );
    assert.deepEqual(await dataBlobs(), dataBefore, 'an unchanged tree adds no data');
    // Only trees above src can change: /tmp's own mtime moves whenever anyone makes a temp file.
    assert.ok(Number(second.blobsAdded) <= 2, `blobs added: ${String(second.blobsAdded)}`);
    const text = await lifeboatOk(['backup', src], { env });
    assert.match(text.stdout, new RegExp(`0 new, 0 changed, ${TREE_FILES} unmodified`));

    const t = Date.now() / 1000;
    await utimes(join(src, 'docs/readme.txt'), t, t);
    const touched = await backup([src]);
    assert.deepEqual(
      [touched.filesNew, touched.filesChanged, touched.filesUnmodified],
      [0, 1, TREE_FILES - 1],
    );
    const forced = await backup(['--force', src]);
    assert.deepEqual(
      [forced.filesNew, forced.filesChanged, forced.filesUnmodified],
      [TREE_FILES, 0, 0],
    );
    assert.equal(forced.bytesProcessed, touched.bytesProcessed);
  });

  test('backup --stdin reads a pipe, a file and a socket alike', async () => {
    const data = Buffer.concat([pseudoRandom(1_100_000, 'stdin kinds'), Buffer.from('tail\n')]);
    for (const via of ['fifo', 'file', 'socket'] as const) {
      const name = `via-${via}.bin`;
      const r = await lifeboat(['--json', 'backup', '--stdin', '--stdin-filename', name], {
        env,
        input: data,
        inputVia: via,
      });
      assert.equal(r.code, 0, `stdin as a ${via}: ${r.stdout}${r.stderr}`);
      const s = record(r.stdout, 'summary');
      assert.equal(s.bytesProcessed, data.length, via);
      const dumped = await lifeboatOk(['dump', s.snapshotId as string, `/${name}`], { env });
      assert.ok(dumped.stdoutBytes.equals(data), `stdin as a ${via}: dump gives the same bytes`);
    }
  });

  test('backup --exclude leaves matching paths out and records the patterns', async () => {
    const s = await backup(['--exclude', '*.bin', '--exclude', 'private', '--tag', 'excl', src]);
    assert.equal(filesSeen(s), TREE_FILES - 3);
    const snap = (await snapshots('--tag', 'excl'))[0]!;
    assert.deepEqual(snap.excludes, ['*.bin', 'private']);
    const ls = await lifeboatOk(['ls', snap.id], { env });
    assert.doesNotMatch(ls.stdout, /random-1\.bin|random-2\.bin|secret\.key|\/private/);
    assert.ok(ls.stdout.includes(join(src, 'docs/readme.txt')));
  });

  test('backup --one-file-system runs', async () => {
    const s = await backup(['--one-file-system', src]);
    assert.equal(s.warnings, 0);
    assert.equal(filesSeen(s), TREE_FILES);
  });

  test('an unreadable file gives exit code 3, a warning, and a snapshot anyway', async () => {
    // As root every mode-000 file is readable; /proc/sys/vm/drop_caches (mode 0200) is not
    // readable by anyone, root included. Without root a mode-000 file works as well.
    const extra = join(dir.path, 'unreadable');
    await mkdir(extra);
    await writeFile(join(extra, 'readable.txt'), 'fine\n');
    const unreadable = ['/proc/sys/vm/drop_caches'];
    if (process.getuid?.() !== 0) {
      await writeFile(join(extra, 'locked.txt'), 'no access\n');
      await chmod(join(extra, 'locked.txt'), 0o000);
      unreadable.push(join(extra, 'locked.txt'));
    }
    const before = (await snapshots()).length;
    const r = await lifeboatOk(
      ['--json', 'backup', '--tag', 'partial', extra, '/proc/sys/vm/drop_caches'],
      { env },
      3,
    );
    const recs = ndjson(r.stdout);
    const warned = recs.filter((x) => x.type === 'warning').map((x) => x.item);
    assert.deepEqual(warned.sort(), unreadable.sort());
    assert.equal(record(r.stdout, 'summary').warnings, unreadable.length);
    const after = await snapshots();
    assert.equal(after.length, before + 1, 'the snapshot was written');
    const ls = await lifeboatOk(['ls', 'latest'], { env });
    assert.ok(ls.stdout.includes(join(extra, 'readable.txt')));
    const listed = ls.stdout.split('\n');
    assert.ok(listed.includes('/proc/sys/vm'), 'the parents of a named path are recorded');
    assert.ok(!listed.includes('/proc/sys/vm/drop_caches'), 'the unreadable file is left out');
    const text = await lifeboat(['backup', extra, '/proc/sys/vm/drop_caches'], { env });
    assert.equal(text.code, 3);
    assert.match(text.stderr, /warning: \/proc\/sys\/vm\/drop_caches: cannot read/);
  });

  test('plan mode backs up every service in dependency order, tagged by service', async () => {
    const planDir = join(dir.path, 'plan');
    const planRepo = join(planDir, 'repo');
    const files = join(planDir, 'files');
    const web = join(planDir, 'web');
    await mkdir(files, { recursive: true });
    await mkdir(web);
    await writeFile(join(files, 'upload.jpg'), 'not really a jpeg\n');
    await writeFile(join(web, 'index.html'), '<h1>hello</h1>\n');
    await writeFile(join(web, 'cache.tmp'), 'leave me out\n');
    await lifeboatOk(['-r', planRepo, 'init'], { env: { LIFEBOAT_PASSWORD: 'plan secret' } });
    const plan = join(planDir, 'lifeboat.yaml');
    await writeFile(
      plan,
      [
        'version: 1',
        'repositories:',
        '  local:',
        `    url: ${planRepo}`,
        '    password: { env: PLAN_REPO_PASSWORD }',
        'services:',
        '  web:',
        '    dependsOn: [files]',
        `    source: { type: directory, path: ${web}, exclude: ["*.tmp"] }`,
        '    tags: [frontend]',
        '  files:',
        `    source: { type: directory, path: ${files} }`,
        '',
      ].join('\n'),
    );
    const planEnv = { PLAN_REPO_PASSWORD: 'plan secret' };
    await lifeboatOk(['plan', 'validate', plan], { env: planEnv });
    const run = await lifeboatOk(['--json', 'backup', '--plan', plan], { env: planEnv });
    const summaries = ndjson(run.stdout).filter((r) => r.type === 'summary');
    assert.deepEqual(
      summaries.map((s) => s.service),
      ['files', 'web'],
    );

    const planSnaps = JSON.parse(
      (
        await lifeboatOk(['--json', '-r', planRepo, 'snapshots'], {
          env: { LIFEBOAT_PASSWORD: 'plan secret' },
        })
      ).stdout,
    ) as Snap[];
    const byService = new Map(
      planSnaps.map((s) => [s.tags?.find((t) => t.startsWith('service=')), s]),
    );
    assert.deepEqual(byService.get('service=files')?.paths, [files]);
    assert.deepEqual(byService.get('service=web')?.paths, [web]);
    assert.ok(byService.get('service=web')?.tags?.includes('frontend'));
    const webLs = await lifeboatOk(['-r', planRepo, 'ls', byService.get('service=web')!.id], {
      env: { LIFEBOAT_PASSWORD: 'plan secret' },
    });
    assert.ok(webLs.stdout.includes('index.html') && !webLs.stdout.includes('cache.tmp'));

    // Named services only; and ./lifeboat.yaml is the default plan when no repository is given.
    const one = await lifeboatOk(['--json', 'backup', 'web'], { env: planEnv, cwd: planDir });
    assert.deepEqual(
      ndjson(one.stdout)
        .filter((r) => r.type === 'summary')
        .map((s) => s.service),
      ['web'],
    );
    const unknown = await lifeboat(['backup', '--plan', plan, 'nope'], { env: planEnv });
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /no service "nope"/);
    const noSecret = await lifeboat(['backup', '--plan', plan], {});
    assert.equal(noSecret.code, 1);
    assert.match(noSecret.stderr, /PLAN_REPO_PASSWORD/);
  });
});
