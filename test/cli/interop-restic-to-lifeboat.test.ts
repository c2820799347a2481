/**
 * Issue 2, "Must hold": Lifeboat opens a repository made by `restic init` + `restic backup`,
 * lists and restores restic's snapshots byte-identically, dumps a stream, backs up into the
 * same repository, and afterwards `restic check --read-data` still passes and restic
 * restores Lifeboat's new snapshot identically.
 */
import assert from 'node:assert/strict';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { lifeboatOk, pseudoRandom, record, treeDigest, sourceAndRepo } from '../support/cli.js';
import { resticOk } from '../support/restic.js';

const PASSWORD = 'restic made this';

interface Snap {
  id: string;
  paths: string[];
  tags?: string[];
}

test('Lifeboat reads, restores and extends a repository restic created', async () => {
  const { dir, src, repo, env } = await sourceAndRepo('restic-to-lb-', PASSWORD);
  await using _cleanup = dir;
  const rs = (args: string[], opts: { input?: Buffer; cwd?: string } = {}) =>
    resticOk(args, { repo, password: PASSWORD, ...opts });

  await rs(['init']);
  const stream = Buffer.concat([
    pseudoRandom(1_500_000, 'restic stream'),
    Buffer.from('INSERT INTO t VALUES (1);\n'.repeat(4000)),
  ]);
  // Absolute path: restic 0.14 roots the tree of a relative argument at that relative path.
  await rs(['backup', '--tag', 'from-restic', src]);
  const digestRestic = await treeDigest(src);
  await rs(['backup', '--stdin', '--stdin-filename', 'dump.sql', '--tag', 'stream'], {
    input: stream,
  });
  // A relative argument gives a tree rooted at `src`, not at the absolute path.
  await rs(['backup', '--tag', 'relative', 'src'], { cwd: dir.path });
  const resticSnaps = JSON.parse((await rs(['snapshots', '--json'])).stdout) as Snap[];
  assert.equal(resticSnaps.length, 3);
  const treeSnap = resticSnaps.find((s) => s.tags?.includes('from-restic'))!;
  const streamSnap = resticSnaps.find((s) => s.tags?.includes('stream'))!;
  const relSnap = resticSnaps.find((s) => s.tags?.includes('relative'))!;

  const lbSnaps = JSON.parse((await lifeboatOk(['--json', 'snapshots'], { env })).stdout) as Snap[];
  assert.deepEqual(
    lbSnaps.map((s) => [s.id, s.paths, s.tags]).sort(),
    resticSnaps.map((s) => [s.id, s.paths, s.tags]).sort(),
  );
  const tagged = JSON.parse(
    (await lifeboatOk(['--json', 'snapshots', '--tag', 'stream'], { env })).stdout,
  ) as Snap[];
  assert.deepEqual(
    tagged.map((s) => s.id),
    [streamSnap.id],
  );

  const t1 = join(dir.path, 'lb-restore');
  await lifeboatOk(['restore', treeSnap.id, '--target', t1], { env });
  assert.deepEqual(await treeDigest(join(t1, src)), digestRestic);

  // Lifeboat and restic lay out a relative-path snapshot the same way.
  const t2 = join(dir.path, 'lb-restore-rel');
  const t3 = join(dir.path, 'restic-restore-rel');
  await lifeboatOk(['restore', relSnap.id, '--target', t2], { env });
  await rs(['restore', relSnap.id, '--target', t3]);
  assert.deepEqual(await readdir(t2), ['src']);
  assert.deepEqual(await readdir(t3), ['src']);
  assert.deepEqual(await treeDigest(join(t2, 'src')), await treeDigest(join(t3, 'src')));
  assert.deepEqual(await treeDigest(join(t2, 'src')), digestRestic);

  const dumped = await lifeboatOk(['dump', streamSnap.id, '/dump.sql'], { env });
  assert.ok(dumped.stdoutBytes.equals(stream), 'lifeboat dump returns the exact bytes');
  const dumpedFile = await lifeboatOk(['dump', treeSnap.id, join(src, 'data/random-2.bin')], {
    env,
  });
  assert.equal(dumpedFile.stdoutBytes.length, 1.5 * 1024 * 1024);

  // Now Lifeboat writes into restic's repository.
  await writeFile(join(src, 'docs/lifeboat was here.txt'), 'written after restic\n');
  // The newest snapshot with these paths is the relative one, whose tree has another shape;
  // name restic's absolute-path snapshot as the parent, so unchanged files are not re-read.
  const lbBackup = record(
    (
      await lifeboatOk(
        ['--json', 'backup', '--tag', 'from-lifeboat', '--parent', treeSnap.id, src],
        { env },
      )
    ).stdout,
    'summary',
  );
  const digestLifeboat = await treeDigest(src);
  assert.deepEqual(
    [lbBackup.filesNew, lbBackup.filesChanged, lbBackup.filesUnmodified],
    [1, 0, 12],
    "restic's snapshot serves as the parent: only the added file is read",
  );
  const stream2 = Buffer.concat([stream, Buffer.from('-- appended by the second dump\n')]);
  const lbStream = record(
    (
      await lifeboatOk(['--json', 'backup', '--stdin', '--stdin-filename', 'dump.sql'], {
        env,
        input: stream2,
        inputVia: 'file',
      })
    ).stdout,
    'summary',
  );

  const check = await rs(['check', '--read-data']);
  assert.match(check.stdout, /no errors were found/);
  const t4 = join(dir.path, 'restic-restore-lb');
  await rs(['restore', lbBackup.snapshotId as string, '--target', t4]);
  assert.deepEqual(await treeDigest(join(t4, src)), digestLifeboat);
  const dumped2 = await rs(['dump', lbStream.snapshotId as string, '/dump.sql']);
  assert.ok(dumped2.stdoutBytes.equals(stream2), "restic dumps Lifeboat's stream exactly");

  // Lifeboat's own check agrees.
  await lifeboatOk(['check', '--read-data'], { env });
});
