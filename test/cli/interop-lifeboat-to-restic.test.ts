/**
 * Issue 2, "Must hold": a repository that Lifeboat creates and fills is read by the stock
 * `restic` binary — `check --read-data` passes, `restore` reproduces the source byte for byte
 * with modes, mtimes, symlinks and hardlinks, `snapshots` lists Lifeboat's snapshots with
 * their tags, and `dump` of a stream backup gives the exact bytes.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { lifeboatOk, pseudoRandom, record, treeDigest, sourceAndRepo } from '../support/cli.js';
import { resticOk } from '../support/restic.js';

const PASSWORD = 'correct horse battery staple';

interface ResticSnapshot {
  id: string;
  tree: string;
  paths: string[];
  hostname: string;
  tags?: string[];
}

test('restic reads, checks and restores what Lifeboat wrote', async () => {
  const { dir, src, repo, env } = await sourceAndRepo('lb-to-restic-', PASSWORD);
  await using _cleanup = dir;
  const rs = (args: string[], input?: Buffer) =>
    resticOk(args, { repo, password: PASSWORD, ...(input ? { input } : {}) });

  await lifeboatOk(['init'], { env });
  const first = record(
    (await lifeboatOk(['--json', 'backup', '--tag', 'first', '--tag', 'interop', src], { env }))
      .stdout,
    'summary',
  );
  const digestFirst = await treeDigest(src);

  // A stream backup, as database dumps will use it: random bytes with text in between.
  const stream = Buffer.concat([
    Buffer.from('-- dump header\n'.repeat(1000)),
    pseudoRandom(2 * 1024 * 1024 + 12345, 'stdin stream'),
    Buffer.from('COPY t FROM stdin;\n1\tone\n2\ttwo\n\\.\n'.repeat(500)),
  ]);
  const streamed = record(
    (
      await lifeboatOk(
        ['--json', 'backup', '--stdin', '--stdin-filename', 'db.sql', '--tag', 'stream'],
        // As from `pg_dump | lifeboat …`; other kinds of stdin are covered in commands.test.ts.
        { env, input: stream, inputVia: 'fifo' },
      )
    ).stdout,
    'summary',
  );

  await writeFile(join(src, 'docs/deep/added later.txt'), 'second snapshot only\n');
  await writeFile(join(src, 'data/random-1.bin'), pseudoRandom(700_000, 'changed'));
  const second = record(
    (await lifeboatOk(['--json', 'backup', '--tag', 'second', src], { env })).stdout,
    'summary',
  );
  const digestSecond = await treeDigest(src);
  assert.notDeepEqual(digestFirst, digestSecond, 'the second snapshot must differ from the first');

  const check = await rs(['check', '--read-data']);
  assert.match(check.stdout, /no errors were found/);

  const listed = JSON.parse((await rs(['snapshots', '--json'])).stdout) as ResticSnapshot[];
  const byId = new Map(listed.map((s) => [s.id, s]));
  assert.equal(listed.length, 3);
  const s1 = byId.get(first.snapshotId as string);
  const s2 = byId.get(streamed.snapshotId as string);
  const s3 = byId.get(second.snapshotId as string);
  assert.ok(s1 && s2 && s3, `restic lists Lifeboat's ids: ${[...byId.keys()].join(', ')}`);
  assert.deepEqual(s1.tags, ['first', 'interop']);
  assert.deepEqual(s1.paths, [src]);
  assert.equal(s1.hostname, hostname());
  assert.deepEqual(s2.tags, ['stream']);
  assert.deepEqual(s2.paths, ['/db.sql']);
  assert.deepEqual(s3.tags, ['second']);
  assert.deepEqual(s3.paths, [src]);

  // `latest` is the second tree snapshot; the first one must still restore as it was.
  const latest = join(dir.path, 'restore-latest');
  await rs(['restore', 'latest', '--target', latest]);
  assert.deepEqual(await treeDigest(join(latest, src)), digestSecond);
  const older = join(dir.path, 'restore-first');
  await rs(['restore', s1.id, '--target', older]);
  assert.deepEqual(await treeDigest(join(older, src)), digestFirst);

  const dumped = await rs(['dump', s2.id, '/db.sql']);
  assert.equal(dumped.stdoutBytes.length, stream.length);
  assert.ok(dumped.stdoutBytes.equals(stream), 'restic dump returns the exact bytes');
});
