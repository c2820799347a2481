/**
 * The MongoDB target against stand-in mongodump (answering for the target's collections) and
 * mongorestore (recording its stdin): refusal before anything is changed, force as --drop,
 * and each part streamed into mongorestore byte for byte.
 */
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { fakeTools, type FakeTools } from '../../../test/engines/fake-tools.js';
import { mongoArchive } from '../../../test/engines/mongo-archive.js';
import { isLifeboatError } from '../../core/errors.js';
import type { PartReader } from '../engine.js';
import { createMongoTarget } from './target.js';

const PARTS = new Map([
  [
    'all.archive',
    mongoArchive(
      [
        ['app', 'users'],
        ['admin', 'system.users'],
      ],
      randomBytes(4 << 20),
    ),
  ],
  ['db-shop.archive', mongoArchive([['shop', 'orders']], Buffer.from('orders data'))],
]);

const reader: PartReader = (name) => {
  const data = PARTS.get(name);
  if (!data) throw new Error(`no part ${name}`);
  const mib = 1 << 20;
  return Readable.from(
    Array.from({ length: Math.ceil(data.length / mib) }, (_, i) =>
      data.subarray(i * mib, (i + 1) * mib),
    ),
  );
};

/** mongodump prints `existing` (the target's collections, then a lot of data). */
async function tools(existing: [string, string][]): Promise<FakeTools> {
  const fake = await fakeTools({
    mongodump: 'cat "$FAKE/target.bin"',
    mongorestore: 'cat > "$FAKE/restored.$(ls "$FAKE" | grep -c restored)"',
  });
  await writeFile(join(fake.dir, 'target.bin'), mongoArchive(existing, randomBytes(16 << 20)));
  return fake;
}

const target = (binDir: string, force = false) =>
  createMongoTarget({
    host: '127.0.0.1',
    port: 27018,
    username: 'root',
    password: 'pw!',
    binDir,
    force,
  });

test('into a target without those databases: each part streams into mongorestore', async () => {
  await using fake = await tools([
    ['admin', 'system.version'],
    ['other', 'things'],
  ]);
  const outcome = await target(fake.dir).restore(['all.archive', 'db-shop.archive'], reader);
  assert.deepEqual(outcome.parts, ['all.archive', 'db-shop.archive']);
  assert.ok((await readFile(join(fake.dir, 'restored.0'))).equals(PARTS.get('all.archive')!));
  assert.ok((await readFile(join(fake.dir, 'restored.1'))).equals(PARTS.get('db-shop.archive')!));

  const calls = await fake.calls();
  assert.deepEqual(
    calls.map((c) => [c.tool, c.argv.slice(1)]),
    [
      [
        'mongodump',
        [
          '--host=127.0.0.1',
          '--port=27018',
          '--username=root',
          '--archive',
          '--numParallelCollections=1',
        ],
      ],
      [
        'mongorestore',
        ['--host=127.0.0.1', '--port=27018', '--username=root', '--archive', '--stopOnError'],
      ],
      [
        'mongorestore',
        [
          '--host=127.0.0.1',
          '--port=27018',
          '--username=root',
          '--archive',
          '--stopOnError',
          '--nsInclude=shop.*',
        ],
      ],
    ],
  );
  for (const c of calls) {
    const file = c.argv[0]!.replace(/^--config=/, '');
    assert.deepEqual(c.files[file], { content: 'password: "pw!"\n', mode: '600' });
  }
});

test('a database that already has collections is refused before anything is restored', async () => {
  await using fake = await tools([
    ['app', 'users'],
    ['app', 'sessions'],
  ]);
  await assert.rejects(target(fake.dir).restore(['all.archive'], reader), (e: unknown) => {
    assert.ok(isLifeboatError(e, 'TARGET_NOT_EMPTY'));
    assert.match(e.message, /database app has 2 collections/);
    return true;
  });
  assert.deepEqual(
    (await fake.calls()).map((c) => c.tool),
    ['mongodump'],
  );
});

test('force restores over it with --drop', async () => {
  await using fake = await tools([['app', 'users']]);
  await target(fake.dir, true).restore(['all.archive'], reader);
  const restore = (await fake.calls()).find((c) => c.tool === 'mongorestore')!;
  assert.ok(restore.argv.includes('--drop'));
});

test('bad part names and parts that are not archives are refused before the target is touched', async () => {
  await using fake = await tools([]);
  for (const parts of [['dump.rdb'], ['db-a b.archive'], ['all.archive', 'all.archive']]) {
    await assert.rejects(target(fake.dir).restore(parts, reader), (e: unknown) =>
      isLifeboatError(e, 'INVALID_ARGUMENT'),
    );
  }
  const notArchive: PartReader = () => Readable.from([Buffer.from('-- MariaDB dump 10.19')]);
  await assert.rejects(target(fake.dir).restore(['all.archive'], notArchive), (e: unknown) =>
    isLifeboatError(e, 'INTEGRITY'),
  );
  assert.deepEqual(await fake.calls(), []);
});
