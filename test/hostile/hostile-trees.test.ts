/**
 * Issue 2, "Must hold" (bad input): a crafted tree with `..`, `/` or an escaping symlink never
 * writes outside the restore target.
 *
 * Trees and snapshots are written into a real repository with the repository's own key, the
 * way a compromised writer could. The attacks: names that are path syntax (`..`, `.`, `a/b`,
 * `/etc`, empty, NUL); symlinks pointing outside (restored as symlinks, as restic does, but
 * never written through); a target that already holds such symlinks, restored into with
 * --overwrite; two snapshots restored one over the other; and two names that differ only in
 * bytes that are not UTF-8, which would land on the same path if the restorer normalised
 * them. After each restore the directory outside the target must be exactly as before —
 * contents, modes and times.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  chmod,
  lstat,
  mkdir,
  readdir,
  readFile,
  readlink,
  stat,
  symlink,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { openRepository } from '../../src/repository/open-repository.js';
import { BlobWriter } from '../../src/repository/pack/blob-writer.js';
import type { Repository } from '../../src/repository/repository.js';
import { encodeSnapshot } from '../../src/repository/snapshot.js';
import type { TreeNode } from '../../src/repository/tree/node.js';
import { encodeTree } from '../../src/repository/tree/tree-json.js';
import { openBackend } from '../../src/storage/open-backend.js';
import { lifeboat, lifeboatOk, tempDir, treeDigest } from '../support/cli.js';

const PASSWORD = 'hostile trees';
const T = '2001-09-09T01:46:40Z';
const GO_DIR = 2 ** 31;
const GO_SYMLINK = 2 ** 27;

function fileNode(name: string, content: string[], extra: Partial<TreeNode> = {}): TreeNode {
  return {
    name,
    type: 'file',
    mode: 0o644,
    mtime: T,
    atime: T,
    ctime: T,
    uid: 0,
    gid: 0,
    size: 6,
    content,
    ...extra,
  };
}
function dirNode(name: string, subtree: string, extra: Partial<TreeNode> = {}): TreeNode {
  return {
    name,
    type: 'dir',
    mode: GO_DIR + 0o755,
    mtime: T,
    atime: T,
    ctime: T,
    uid: 0,
    gid: 0,
    content: null,
    subtree,
    ...extra,
  };
}
function linkNode(name: string, linktarget: string, extra: Partial<TreeNode> = {}): TreeNode {
  return {
    name,
    type: 'symlink',
    mode: GO_SYMLINK + 0o777,
    mtime: T,
    atime: T,
    ctime: T,
    uid: 0,
    gid: 0,
    linktarget,
    content: null,
    ...extra,
  };
}

/** Writes blobs, trees and snapshots into the repository at `path` through its own key. */
class Crafter {
  private constructor(
    private readonly repo: Repository,
    private readonly writer: BlobWriter,
  ) {}

  static async open(path: string): Promise<Crafter> {
    const repo = await openRepository(openBackend(path, { env: {} }), PASSWORD);
    return new Crafter(repo, new BlobWriter(repo));
  }

  async data(text: string): Promise<string> {
    return (await this.writer.save('data', Buffer.from(text))).id;
  }

  /** A tree from nodes, or from raw JSON when encodeTree would refuse the names. */
  async tree(nodes: TreeNode[] | Buffer): Promise<string> {
    const bytes = Buffer.isBuffer(nodes) ? nodes : encodeTree(nodes);
    return (await this.writer.save('tree', bytes)).id;
  }

  async snapshot(tree: string, tag: string): Promise<string> {
    await this.writer.flush();
    return this.repo.saveUnpacked(
      'snapshot',
      encodeSnapshot({
        time: new Date().toISOString(),
        tree,
        paths: ['/crafted'],
        hostname: 'test',
        tags: [tag],
      }),
    );
  }

  async close(): Promise<void> {
    await this.writer.flush();
    await this.repo.backend.close();
  }
}

/** Everything under `dir` that matters for "was it touched": names, types, modes, times, bytes. */
async function fingerprint(dir: string): Promise<string[]> {
  const st = await stat(dir);
  return [
    `. mode=${(st.mode & 0o7777).toString(8)} mtime=${st.mtimeMs}`,
    ...(await treeDigest(dir)),
  ];
}

interface Sandbox {
  root: string;
  outside: string;
  env: Record<string, string>;
  crafter: Crafter;
  before: string[];
}

async function assertOutsideUntouched(s: Sandbox, what: string): Promise<void> {
  assert.deepEqual(
    await fingerprint(s.outside),
    s.before,
    `${what}: the directory outside the target changed`,
  );
  // Nothing new next to the targets either (a `..` escape would land there).
  const top = (await readdir(s.root)).filter((n) => !n.startsWith('target-')).sort();
  assert.deepEqual(
    top,
    ['outside', 'repo', 'victim-link-target'].sort(),
    `${what}: new entries next to the target`,
  );
}

let targetCount = 0;
const newTarget = (s: Sandbox) => join(s.root, `target-${++targetCount}`);

async function restore(s: Sandbox, snapshot: string, target: string, overwrite = false) {
  return lifeboat(
    ['restore', snapshot, '--target', target, ...(overwrite ? ['--overwrite'] : [])],
    { env: s.env },
  );
}

test('crafted trees never write outside the restore target', async (t) => {
  await using dir = await tempDir('lb-hostile-trees-');
  const root = dir.path;
  const outside = join(root, `outside`);
  await mkdir(outside, { mode: 0o700 });
  await writeFile(join(outside, 'victim.txt'), 'precious\n', { mode: 0o600 });
  await chmod(join(outside, 'victim.txt'), 0o600);
  await utimes(join(outside, 'victim.txt'), 1_000_000_000, 1_000_000_000);
  await utimes(outside, 1_000_000_000, 1_000_000_000);
  // A symlink the tests plant in targets; it lives outside them, so it is fingerprinted too.
  await writeFile(join(root, 'victim-link-target'), 'also precious\n');
  const repoPath = join(root, 'repo');
  const env = { LIFEBOAT_REPOSITORY: repoPath, LIFEBOAT_PASSWORD: PASSWORD };
  await lifeboatOk(['init'], { env });
  const crafter = await Crafter.open(repoPath);
  const s: Sandbox = { root, outside, env, crafter, before: await fingerprint(outside) };
  const pwned = await crafter.data('pwned\n');
  const tag = randomBytes(4).toString('hex');

  try {
    await t.test('names that are path syntax are refused', async () => {
      // `..` twice then `outside/pwned`: without the check this lands in <root>/outside.
      const escape = await crafter.tree([fileNode('pwned', [pwned])]);
      const viaOutside = await crafter.tree([dirNode('outside', escape)]);
      const upOnce = await crafter.tree([dirNode('..', viaOutside)]);
      const upTwice = await crafter.tree([dirNode('..', upOnce)]);
      const bad: { name: string; tree: string }[] = [
        { name: '.. (dir, twice)', tree: upTwice },
        { name: '..', tree: await crafter.tree([fileNode('..', [pwned])]) },
        { name: '.', tree: await crafter.tree([fileNode('.', [pwned])]) },
        { name: 'a/b', tree: await crafter.tree([fileNode('outside/pwned', [pwned])]) },
        { name: '/abs', tree: await crafter.tree([fileNode(`${outside}/pwned`, [pwned])]) },
        { name: 'NUL', tree: await crafter.tree([fileNode('a\0b', [pwned])]) },
        {
          name: 'empty',
          tree: await crafter.tree(
            Buffer.from(
              encodeTree([fileNode('EMPTYNAME', [pwned])])
                .toString()
                .replace('"EMPTYNAME"', '""'),
            ),
          ),
        },
      ];
      for (const b of bad) {
        const target = newTarget(s);
        const r = await restore(s, await crafter.snapshot(b.tree, `${tag}-${b.name}`), target);
        assert.equal(r.code, 1, `${b.name}: restore must fail\n${r.stdout}\n${r.stderr}`);
        assert.match(
          r.stderr,
          /node name|path component|unsafe|relative|contains|empty/i,
          `${b.name}: ${r.stderr}`,
        );
        assert.match(
          r.stderr,
          /tree [0-9a-f]{64}/,
          `${b.name}: the error names the tree\n${r.stderr}`,
        );
        await assertOutsideUntouched(s, b.name);
      }
    });

    await t.test('symlinks pointing outside are restored as links, never followed', async () => {
      const inner = await crafter.tree([fileNode('f', [pwned])]);
      const tree = await crafter.tree([
        linkNode('abs', outside),
        dirNode('d', inner),
        linkNode('rel', '../outside'),
        linkNode('up', '../../outside/victim.txt'),
      ]);
      const target = newTarget(s);
      const r = await restore(s, await crafter.snapshot(tree, `${tag}-links`), target);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(await readlink(join(target, 'abs')), outside);
      assert.equal(await readlink(join(target, 'rel')), '../outside');
      assert.equal(await readlink(join(target, 'up')), '../../outside/victim.txt');
      assert.equal(await readFile(join(target, 'd/f'), 'utf8'), 'pwned\n');
      await assertOutsideUntouched(s, 'symlinks');
    });

    await t.test(
      '--overwrite replaces symlinks already in the target instead of following them',
      async () => {
        const inF = await crafter.tree([fileNode('f', [pwned])]);
        const tree = await crafter.tree([
          dirNode('d', inF),
          fileNode('file', [pwned], { mode: 0o777 }),
          dirNode('x', inF, { mode: GO_DIR + 0o777, mtime: '2030-01-01T00:00:00Z' }),
          fileNode('y', [pwned]),
        ]);
        const snap = await crafter.snapshot(tree, `${tag}-overwrite`);
        const plant = async (target: string) => {
          await mkdir(join(target, 'd'), { recursive: true });
          await symlink(join(outside, 'victim.txt'), join(target, 'd/f'));
          await symlink(join(outside, 'victim.txt'), join(target, 'file'));
          await symlink(outside, join(target, 'x'));
          await symlink(join(outside, 'new-file'), join(target, 'y'));
        };
        const refused = newTarget(s);
        await plant(refused);
        const r1 = await restore(s, snap, refused);
        assert.equal(r1.code, 1, `a non-empty target needs --overwrite\n${r1.stderr}`);
        const target = newTarget(s);
        await plant(target);
        const r2 = await restore(s, snap, target, true);
        assert.equal(r2.code, 0, r2.stderr);
        for (const p of ['d/f', 'file', 'x/f', 'y']) {
          const st = await lstat(join(target, p));
          assert.ok(st.isFile(), `${p} is a restored file now`);
          assert.equal(await readFile(join(target, p), 'utf8'), 'pwned\n');
        }
        assert.ok((await lstat(join(target, 'x'))).isDirectory());
        await assertOutsideUntouched(s, '--overwrite over planted symlinks');
      },
    );

    await t.test(
      'a second snapshot restored over a symlink from the first does not follow it',
      async () => {
        const first = await crafter.snapshot(
          await crafter.tree([linkNode('x', outside), linkNode('z', join(outside, 'victim.txt'))]),
          `${tag}-first`,
        );
        const inF = await crafter.tree([fileNode('victim.txt', [pwned], { mode: 0o777 })]);
        const second = await crafter.snapshot(
          await crafter.tree([
            dirNode('x', inF, { mode: GO_DIR + 0o777, mtime: '2030-01-01T00:00:00Z' }),
            fileNode('z', [pwned], { mode: 0o777, mtime: '2030-01-01T00:00:00Z' }),
          ]),
          `${tag}-second`,
        );
        const target = newTarget(s);
        assert.equal((await restore(s, first, target)).code, 0);
        const r = await restore(s, second, target, true);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(await readFile(join(target, 'x/victim.txt'), 'utf8'), 'pwned\n');
        assert.ok((await lstat(join(target, 'z'))).isFile());
        await assertOutsideUntouched(s, 'second snapshot over the first');
      },
    );

    await t.test(
      'names equal after replacing invalid UTF-8 cannot redirect each other',
      async () => {
        // Distinct bytes (x\xfe < x\xff, so a valid sorted tree) that both display as "x\uFFFD".
        const big = await crafter.data('z'.repeat(200_000));
        const inF = await crafter.tree([fileNode('f', [pwned])]);
        const name = (last: number) => ({ name: 'x\uFFFD', rawName: Buffer.from([0x78, last]) });
        const cases: { label: string; nodes: TreeNode[] }[] = [
          {
            label: 'dir then symlink',
            nodes: [
              dirNode('', inF, {
                ...name(0xfd),
                mode: GO_DIR + 0o777,
                mtime: '2030-01-01T00:00:00Z',
              }),
              linkNode('', outside, name(0xfe)),
            ],
          },
          {
            label: 'file then symlink',
            nodes: [
              fileNode('', [big, big, big], {
                ...name(0xfd),
                mode: 0o777,
                mtime: '2030-01-01T00:00:00Z',
                size: 600_000,
              }),
              linkNode('', join(outside, 'victim.txt'), name(0xfe)),
            ],
          },
          {
            label: 'symlink then dir',
            nodes: [
              linkNode('', outside, name(0xfd)),
              dirNode('', inF, { ...name(0xfe), mode: GO_DIR + 0o777 }),
            ],
          },
        ];
        for (const c of cases) {
          const snap = await crafter.snapshot(await crafter.tree(c.nodes), `${tag}-${c.label}`);
          for (const overwrite of [false, true]) {
            const target = newTarget(s);
            const r = await restore(s, snap, target, overwrite);
            // The first of the two is restored, the second skipped with a warning (exit 3).
            assert.equal(r.code, 3, `${c.label}: exit ${r.code}\n${r.stderr}`);
            assert.match(r.stderr, /x\uFFFD: .*same name/, r.stderr);
            const kind = (await lstat(join(target, 'x\uFFFD'))).isSymbolicLink()
              ? 'symlink'
              : 'other';
            assert.equal(
              kind === 'symlink',
              c.label.startsWith('symlink'),
              `${c.label}: the first entry wins`,
            );
            await assertOutsideUntouched(s, `${c.label}${overwrite ? ' with --overwrite' : ''}`);
          }
        }
      },
    );
  } finally {
    await crafter.close();
  }
  // check finds the crafted names too, and nothing else: the repository is otherwise sound.
  const check = await lifeboat(['check'], { env });
  assert.equal(check.code, 1, check.stdout + check.stderr);
  const errors = check.stdout.split('\n').filter((l) => l.startsWith('error: '));
  assert.equal(errors.length, 7, check.stdout);
  for (const e of errors) assert.match(e, /tree [0-9a-f]{64} .*node name/, e);
});
