/**
 * Interop with the real restic 0.14 binary: restic backs up a small tree with every kind of
 * entry and awkward name; for every tree blob it wrote, decodeTree + encodeTree must give its
 * bytes back, and the nodes Lifeboat builds from the same paths must be equal to restic's and
 * encode to the same bytes, which is what lets our tree blobs dedupe with restic's.
 */
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, link, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { nodeFromPath } from '../fs/node-from-stat.js';
import { nodeNameBytes, type TreeNode } from './node.js';
import { decodeTree, encodeTree } from './tree-json.js';

// A zone with a half-hour offset exercises the offset formatting; restic and this process
// must use the same one (Node re-reads TZ when it is assigned).
const TZ = existsSync('/usr/share/zoneinfo/America/St_Johns') ? 'America/St_Johns' : 'UTC';
process.env.TZ = TZ;

function requireRestic(): void {
  const r = spawnSync('restic', ['version'], { encoding: 'utf8' });
  if (r.error !== undefined || r.status !== 0) {
    assert.fail(
      'the restic binary (0.14) is needed for interop tests: install it (apt-get install restic)',
    );
  }
}

function restic(repo: string, args: string[], cwd?: string): Promise<Buffer> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !k.startsWith('RESTIC_')) env[k] = v;
  }
  Object.assign(env, { RESTIC_PASSWORD: 'interop', RESTIC_REPOSITORY: repo, TZ });
  return new Promise((resolve, reject) => {
    execFile(
      'restic',
      ['--no-cache', ...args],
      { env, encoding: 'buffer', maxBuffer: 64 << 20, ...(cwd === undefined ? {} : { cwd }) },
      (err, stdout, stderr) => {
        if (err)
          reject(new Error(`restic ${args.join(' ')}: ${stderr.toString()}`, { cause: err }));
        else resolve(stdout);
      },
    );
  });
}

async function buildSource(data: string): Promise<void> {
  await mkdir(join(data, 'sub', 'deeper'), { recursive: true });
  await mkdir(join(data, 'emptydir'));
  await writeFile(join(data, 'a file'), 'hello\n');
  await writeFile(join(data, 'empty'), '');
  await writeFile(join(data, 'hard1'), 'linked');
  await link(join(data, 'hard1'), join(data, 'hard2'));
  await writeFile(join(data, '<&> and "quotes" \\ back'), 'x');
  await writeFile(join(data, 'ünïcödé 日本 😀'), 'u');
  await writeFile(join(data, 'melting \u{1fae0} face'), 'Unicode 14, newer than Go 1.19');
  await writeFile(join(data, 'nbsp\u00a0and\u200bzwsp'), 'n');
  await writeFile(join(data, 'tab\there\nnewline\x01'), 'c');
  await writeFile(Buffer.from(`${data}/bad\xffname`, 'latin1'), 'b');
  await writeFile(join(data, 'sub', 'file'), 'in sub');
  await writeFile(join(data, 'sub', 'deeper', 'leaf'), 'leaf');
  await writeFile(join(data, 'setuid'), '#!/bin/sh\n');
  await chmod(join(data, 'setuid'), 0o4755);
  await chmod(join(data, 'emptydir'), 0o1777);
  await symlink('a file', join(data, 'link'));
  await symlink('../nowhere <&>', join(data, 'dangling'));
  await symlink(Buffer.from('tgt\xe2\x82A', 'latin1'), join(data, 'badlink'));
  const fifo = spawnSync('mkfifo', [join(data, 'fifo')]);
  assert.equal(fifo.status, 0, 'mkfifo failed');
}

interface Compared {
  trees: number;
  nodes: number;
}

/** Walks restic's trees, checking each against decode/encode and against nodeFromPath. */
async function compareTree(repo: string, id: string, dir: Buffer, seen: Compared): Promise<void> {
  const bytes = await restic(repo, ['cat', 'blob', id]);
  const theirs = decodeTree(bytes, id);
  assert.deepEqual(encodeTree(theirs), bytes, `re-encoding tree ${id} (${dir.toString()})`);
  seen.trees++;
  const ours: TreeNode[] = [];
  for (const node of theirs) {
    const name = nodeNameBytes(node);
    const path = Buffer.concat([dir, Buffer.from('/'), name]);
    const mine = await nodeFromPath(path, name);
    // The archiver fills these from the data and subtrees it saved.
    mine.content = node.content;
    if (node.subtree !== undefined) mine.subtree = node.subtree;
    assert.deepEqual(mine, node, `node ${JSON.stringify(node.name)} in ${dir.toString()}`);
    ours.push(mine);
    seen.nodes++;
    if (node.type === 'dir') await compareTree(repo, node.subtree!, path, seen);
  }
  assert.deepEqual(encodeTree(ours), bytes, `our encoding of ${dir.toString()}`);
}

test('tree blobs match restic 0.14 byte for byte', { timeout: 120_000 }, async () => {
  requireRestic();
  const root = await mkdtemp(join(tmpdir(), 'lifeboat-interop-'));
  const server = createServer();
  try {
    const repo = join(root, 'repo');
    const data = join(root, 'data');
    await mkdir(data);
    await buildSource(data);
    await new Promise<void>((resolve) => server.listen(join(data, 'socket'), resolve));

    await restic(repo, ['init']);
    // A relative path makes the root tree hold `data` itself; an absolute one would add nodes
    // for tmpdir() and its parents, whose times other processes change under the test.
    const out = (await restic(repo, ['backup', '--json', 'data'], root)).toString('utf8');
    const summary = out
      .split('\n')
      .filter((l) => l.includes('"summary"'))
      .map((l) => JSON.parse(l) as { snapshot_id: string })[0];
    assert.ok(summary, `no summary from restic backup: ${out}`);
    const snapshot = JSON.parse(
      (await restic(repo, ['cat', 'snapshot', summary.snapshot_id])).toString('utf8'),
    ) as { tree: string };

    const rootBytes = await restic(repo, ['cat', 'blob', snapshot.tree]);
    const rootNodes = decodeTree(rootBytes, snapshot.tree);
    assert.deepEqual(encodeTree(rootNodes), rootBytes);
    assert.deepEqual(
      rootNodes.map((n) => n.name),
      ['data'],
    );
    const dataNode = rootNodes[0]!;
    const mine = await nodeFromPath(data, 'data');
    mine.subtree = dataNode.subtree!;
    assert.deepEqual(mine, dataNode);
    assert.deepEqual(encodeTree([mine]), rootBytes);

    const seen: Compared = { trees: 1, nodes: 1 };
    await compareTree(repo, dataNode.subtree!, Buffer.from(data), seen);
    assert.equal(seen.trees, 5); // root, data, emptydir, sub, sub/deeper

    // Spot checks of what the byte comparison covered, so a regression names its cause.
    const dataBytes = (await restic(repo, ['cat', 'blob', dataNode.subtree!])).toString('latin1');
    assert.ok(dataBytes.includes('"name":"melting \\\\U0001fae0 face"'), 'Go 1.19 quotes U+1FAE0');
    assert.ok(dataBytes.includes('\\u003c\\u0026\\u003e and \\\\\\"quotes\\\\\\" \\\\\\\\ back'));
    assert.ok(dataBytes.includes('"name":"bad\\\\xffname"'));
    assert.ok(dataBytes.includes('"type":"fifo"'));
    // restic 0.14's archiver skips sockets altogether; Lifeboat's archiver must too.
    assert.ok(!dataBytes.includes('"name":"socket"'));
    if (TZ !== 'UTC') assert.match(dataBytes, /"mtime":"[^"]+-0[23]:30"/);
  } finally {
    server.close();
    await rm(root, { recursive: true, force: true });
  }
});
