import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { bsonDocument, mongoArchive } from '../../../test/engines/mongo-archive.js';
import { isLifeboatError } from '../../core/errors.js';
import { parsePrelude, readPrelude } from './archive-prelude.js';

function pieces(data: Buffer, size: number): Readable {
  return Readable.from(
    Array.from({ length: Math.ceil(data.length / size) }, (_, i) =>
      data.subarray(i * size, (i + 1) * size),
    ),
  );
}

test('the prelude lists every collection; the stream gives back every byte', async () => {
  const data = Buffer.from('documents follow here');
  const archive = mongoArchive(
    [
      ['app', 'users'],
      ['app', 'orders'],
      ['admin', 'system.users'],
    ],
    data,
  );
  for (const size of [1, 5, 64, 100000]) {
    const prelude = await readPrelude(pieces(archive, size), 'test');
    assert.deepEqual(prelude.namespaces, [
      { db: 'app', collection: 'users' },
      { db: 'app', collection: 'orders' },
      { db: 'admin', collection: 'system.users' },
    ]);
    const out: Buffer[] = [];
    for await (const c of prelude.stream) out.push(Buffer.from(c));
    assert.deepEqual(Buffer.concat(out), archive, `pieces of ${size}`);
  }
});

test('an archive of an empty server has no collections', () => {
  assert.deepEqual(parsePrelude(mongoArchive([]), 'x')?.namespaces, []);
  assert.equal(
    parsePrelude(mongoArchive([['a', 'b']]).subarray(0, 30), 'x'),
    undefined,
    'needs more bytes',
  );
});

test('anything else is INTEGRITY', async () => {
  const notArchive = [
    Buffer.from('-- MariaDB dump'),
    Buffer.alloc(0),
    mongoArchive([['a', 'b']]).subarray(0, 40),
    Buffer.concat([
      mongoArchive([]).subarray(0, -4),
      bsonDocument({ db: 'a' }),
      Buffer.from([0xff, 0xff, 0xff, 0xff]),
    ]),
  ];
  for (const bytes of notArchive) {
    await assert.rejects(readPrelude(pieces(bytes, 7), 'part x'), (e: unknown) =>
      isLifeboatError(e, 'INTEGRITY'),
    );
  }
});

test('closing stops the source', async () => {
  let stopped = false;
  // eslint-disable-next-line @typescript-eslint/require-await -- a generator, for its finally
  async function* source() {
    try {
      yield mongoArchive([['a', 'b']]);
      yield Buffer.from('more');
    } finally {
      stopped = true;
    }
  }
  const prelude = await readPrelude(source(), 'x');
  await prelude.close();
  assert.ok(stopped);
});
