/**
 * The `lifeboat` commands end to end, as a user runs them: key management, ls, cat,
 * snapshot filters, backup options and parent detection, the partial-backup exit code 3,
 * and plan mode. Where restic has the same view (cat config/masterkey/snapshot/index/blob),
 * the output is compared with restic's.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmod, mkdir, readdir, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  lifeboat,
  lifeboatOk,
  makeSourceTree,
  ndjson,
  pseudoRandom,
  record,
  tempDir,
  type TempDir,
} from '../support/cli.js';
import { resticOk } from '../support/restic.js';

const PASSWORD = 'commands test';
/** Files that makeSourceTree creates (regular files, the hardlinked pair counted twice). */
const TREE_FILES = 12;

const filesSeen = (s: Record<string, unknown>) =>
  Number(s.filesNew) + Number(s.filesChanged) + Number(s.filesUnmodified);

interface Snap {
  id: string;
  tree: string;
  paths: string[];
  hostname: string;
  tags?: string[];
  excludes?: string[];
}

describe('lifeboat commands', () => {
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
    dir = await tempDir('lb-commands-');
    repo = join(dir.path, 'repo');
    src = join(dir.path, 'src');
    await mkdir(src);
    await makeSourceTree(src, { randomBytes: 1024 * 1024 });
    env = { LIFEBOAT_REPOSITORY: repo, LIFEBOAT_PASSWORD: PASSWORD };
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

  test('snapshots filters by tag, host and path, as a table and as JSON', async () => {
    const other = join(dir.path, 'other');
    await mkdir(other);
    await writeFile(join(other, 'f'), 'other\n');
    const a = await backup(['--tag', 'alpha,common', '--host', 'host-one', src]);
    const b = await backup(['--tag', 'beta', '--tag', 'common', '--host', 'host-two', src]);
    const c = await backup(['--tag', 'alpha', '--host', 'host-one', other]);
    const ids = async (...f: string[]) => (await snapshots(...f)).map((s) => s.id).sort();
    assert.deepEqual(await ids('--tag', 'alpha'), [a.snapshotId, c.snapshotId].sort());
    assert.deepEqual(await ids('--tag', 'alpha,common'), [a.snapshotId]);
    assert.deepEqual(await ids('--host', 'host-two'), [b.snapshotId]);
    assert.deepEqual(await ids('--path', other), [c.snapshotId]);
    assert.deepEqual(await ids('--host', 'host-one', '--path', src), [a.snapshotId]);
    assert.deepEqual(await ids('--tag', 'nope'), []);
    const json = (await snapshots('--host', 'host-two'))[0]!;
    assert.deepEqual(json.tags, ['beta', 'common']);
    assert.deepEqual(json.paths, [src]);
    assert.equal(json.hostname, 'host-two');
    const table = await lifeboatOk(['snapshots', '--host', 'host-one'], { env });
    assert.match(table.stdout, /ID\s+Time\s+Host\s+Tags\s+Paths/);
    assert.ok(table.stdout.includes((a.snapshotId as string).slice(0, 8)));
    assert.ok(table.stdout.includes((c.snapshotId as string).slice(0, 8)));
    assert.ok(!table.stdout.includes((b.snapshotId as string).slice(0, 8)));
    assert.match(table.stdout, /^2 snapshots$/m);
  });

  test('ls, ls -l and ls --json', async () => {
    const s = await backup(['--tag', 'for-ls', src]);
    const id = s.snapshotId as string;
    const plain = (await lifeboatOk(['ls', id], { env })).stdout.split('\n');
    for (const p of [
      'docs/with space.txt',
      'docs/ünïcødé-日本語.txt',
      'docs/a<&>b.txt',
      'empty-dir',
      'data/fifo',
    ]) {
      assert.ok(plain.includes(join(src, p)), `ls lists ${p}`);
    }
    const long = (await lifeboatOk(['ls', '-l', id, join(src, 'data')], { env })).stdout;
    assert.match(long, /symlink .* -> \.\.\/docs\/readme\.txt/);
    assert.match(long, /fifo /);
    assert.ok(!long.includes(join(src, 'docs')), 'only below the given directory');
    const nodes = ndjson((await lifeboatOk(['--json', 'ls', id], { env })).stdout);
    assert.equal(nodes[0]!.type, 'snapshot');
    // Every entry is a "node" record (a field of its own carries file/dir/symlink…), so a
    // consumer can tell records apart by `type` as everywhere else under --json.
    const kinds = new Set(nodes.slice(1).map((n) => n.type));
    assert.deepEqual(
      [...kinds],
      ['node'],
      `record types of ls --json entries: ${[...kinds].join(', ')}`,
    );
    const byPath = new Map(nodes.filter((n) => n.type === 'node').map((n) => [n.path, n]));
    const runSh = byPath.get(join(src, 'run.sh'));
    assert.equal(runSh?.mode, 0o755);
    assert.equal(runSh?.size, '#!/bin/sh\necho hello\n'.length);
    assert.equal(byPath.get(join(src, 'link-dangling'))?.linktarget, 'does/not/exist');
    assert.equal(byPath.get(join(src, 'data/random-1.bin'))?.size, 512 * 1024);
  });

  test('cat config, masterkey, key, snapshot, index, tree and blob agree with restic', async () => {
    const rs = async (...args: string[]) =>
      (await resticOk(['cat', ...args], { repo, password: PASSWORD })).stdout;
    const lb = async (...args: string[]) => (await lifeboatOk(['cat', ...args], { env })).stdout;
    const config = JSON.parse(await lb('config')) as {
      version: number;
      chunker_polynomial: string;
    };
    assert.equal(config.version, 2);
    assert.match(config.chunker_polynomial, /^[0-9a-f]+$/);
    assert.deepEqual(config, JSON.parse(await rs('config')));
    assert.deepEqual(JSON.parse(await lb('masterkey')), JSON.parse(await rs('masterkey')));
    const key = (await readdir(join(repo, 'keys')))[0]!;
    assert.deepEqual(JSON.parse(await lb('key', key)), JSON.parse(await rs('key', key)));

    const snap = (await snapshots())[0]!;
    // restic 0.14 re-encodes the snapshot through its struct, which has no program_version yet.
    const lbSnap = JSON.parse(await lb('snapshot', snap.id)) as Record<string, unknown>;
    assert.match(String(lbSnap.program_version), /^lifeboat /);
    delete lbSnap.program_version;
    assert.deepEqual(lbSnap, JSON.parse(await rs('snapshot', snap.id)));
    const index = (await readdir(join(repo, 'index')))[0]!;
    assert.deepEqual(JSON.parse(await lb('index', index)), JSON.parse(await rs('index', index)));
    const tree = JSON.parse(await lb('tree', snap.tree)) as { nodes: { name: string }[] };
    assert.deepEqual(
      tree.nodes.map((n) => n.name),
      [src.split('/')[1]],
    );

    const content = 'Lifeboat test tree\n'.repeat(20);
    const blobId = createHash('sha256').update(content).digest('hex');
    assert.equal(await lb('blob', blobId), content);
    const missing = await lifeboat(['cat', 'blob', '0'.repeat(64)], { env });
    assert.equal(missing.code, 1);
    const kind = await lifeboat(['cat', 'nonsense'], { env });
    assert.equal(kind.code, 1);
    assert.match(kind.stderr, /unknown kind/);
  });

  test('key add, list, remove and passwd', async () => {
    type Key = { id: string; current: boolean };
    const keys = async (pw: string) =>
      JSON.parse(
        (await lifeboatOk(['--json', 'key', 'list'], { env: { ...env, LIFEBOAT_PASSWORD: pw } }))
          .stdout,
      ) as Key[];
    const opens = async (pw: string) =>
      (await lifeboat(['snapshots'], { env: { ...env, LIFEBOAT_PASSWORD: pw } })).code;

    const start = await keys(PASSWORD);
    assert.equal(start.length, 1);
    assert.equal(start[0]!.current, true);
    const added = record(
      (
        await lifeboatOk(['--json', 'key', 'add'], {
          env: { ...env, LIFEBOAT_NEW_PASSWORD: 'second' },
        })
      ).stdout,
      'summary',
    );
    assert.equal(await opens('second'), 0);
    const both = await keys('second');
    assert.equal(both.length, 2);
    assert.deepEqual(both.find((k) => k.current)?.id, added.keyId);

    const inUse = await lifeboat(['key', 'remove', (added.keyId as string).slice(0, 8)], {
      env: { ...env, LIFEBOAT_PASSWORD: 'second' },
    });
    assert.equal(inUse.code, 1);
    assert.match(inUse.stderr, /in use/);
    await lifeboatOk(['key', 'remove', (added.keyId as string).slice(0, 8)], { env });
    assert.equal(await opens('second'), 12);

    const pwFile = join(dir.path, 'new-password');
    await writeFile(pwFile, 'third\n');
    await lifeboatOk(['key', 'passwd', '--new-password-file', pwFile], { env });
    assert.equal(await opens(PASSWORD), 12, 'the old password stops working');
    assert.equal(await opens('third'), 0);
    assert.equal((await keys('third')).length, 1);
    // restic opens the repository with the new key as well.
    await resticOk(['snapshots'], { repo, password: 'third' });
    env = { ...env, LIFEBOAT_PASSWORD: 'third' };
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
