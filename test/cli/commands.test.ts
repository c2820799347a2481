/**
 * The `lifeboat` commands other than backup, end to end: snapshot filters, ls, cat and key
 * management. Where restic has the same view (cat config/masterkey/key/snapshot/index/blob),
 * the output is compared with restic's.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  lifeboat,
  lifeboatOk,
  ndjson,
  record,
  type SnapshotJson as Snap,
  type TempDir,
  sourceAndRepo,
} from '../support/cli.js';
import { resticOk } from '../support/restic.js';

const PASSWORD = 'commands test';

describe('lifeboat commands', () => {
  let dir: TempDir;
  let repo: string;
  let src: string;
  let env: Record<string, string>;
  const backup = async (args: string[], expect = 0) =>
    record((await lifeboatOk(['--json', 'backup', ...args], { env }, expect)).stdout, 'summary');
  const snapshots = async (...filters: string[]) =>
    JSON.parse((await lifeboatOk(['--json', 'snapshots', ...filters], { env })).stdout) as Snap[];

  before(async () => {
    ({ dir, repo, src, env } = await sourceAndRepo('lb-commands-', PASSWORD, {
      randomBytes: 1024 * 1024,
    }));
    await lifeboatOk(['init'], { env });
    await lifeboatOk(['backup', src], { env });
  });
  after(() => dir[Symbol.asyncDispose]());

  test('snapshots filters by tag, host and path, as a table and as JSON', async () => {
    const other = join(dir.path, 'other');
    await mkdir(other);
    await writeFile(join(other, 'f'), 'other\n');
    const a = await backup(['--tag', 'alpha,common', '--host', 'host-one', src]);
    const b = await backup(['--tag', 'beta', '--tag', 'common', '--host', 'host-two', src]);
    const c = await backup(['--tag', 'alpha', '--host', 'host-one', other]);
    const tagsOf = async (id: unknown) => (await snapshots()).find((s) => s.id === id)?.tags;
    // restic splits a --tag value on commas: `--tag alpha,common` records two tags.
    assert.deepEqual(await tagsOf(a.snapshotId), ['alpha', 'common'], 'backup --tag a,b');
    assert.deepEqual(await tagsOf(b.snapshotId), ['beta', 'common']);
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
    const indexes = await readdir(join(repo, 'index'));
    assert.ok(indexes.length > 1);
    for (const index of indexes) {
      assert.deepEqual(
        JSON.parse(await lb('index', index)),
        JSON.parse(await rs('index', index)),
        `index ${index}`,
      );
    }
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
});
