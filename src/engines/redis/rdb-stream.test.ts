import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { isLifeboatError } from '../../core/errors.js';
import { rdbFromReplicaStream } from './rdb-stream.js';

/** A stand-in RDB: magic, payload, EOF opcode 0xFF and an 8-byte checksum. */
function rdb(payload: string): Buffer {
  return Buffer.concat([
    Buffer.from(`REDIS0010${payload}`),
    Buffer.from([0xff, 1, 2, 3, 4, 5, 6, 7, 8]),
  ]);
}
const MARK = Buffer.from('0123456789abcdef0123456789abcdef01234567');

async function run(data: Buffer, piece: number): Promise<Buffer> {
  const pieces = Readable.from(
    Array.from({ length: Math.ceil(data.length / piece) }, (_, i) =>
      data.subarray(i * piece, (i + 1) * piece),
    ),
  );
  const out: Buffer[] = [];
  for await (const c of rdbFromReplicaStream(pieces, 'test')) out.push(Buffer.from(c));
  return Buffer.concat(out);
}

test('the diskless EOF mark after the RDB is dropped, whatever the piece size', async () => {
  const file = rdb('x'.repeat(100));
  for (const piece of [1, 3, 39, 40, 41, 64, 1000]) {
    assert.deepEqual(await run(Buffer.concat([file, MARK]), piece), file, `pieces of ${piece}`);
  }
});

test('an RDB without a mark (disk-based replication) passes through unchanged', async () => {
  const file = rdb('y'.repeat(60));
  for (const piece of [1, 7, 40, 500]) assert.deepEqual(await run(file, piece), file);
  // Its last 40 bytes hold the 0xFF opcode, so they are never taken for a mark.
  const tiny = rdb('');
  assert.deepEqual(await run(tiny, 5), tiny);
});

test('empty output is TOOL_FAILED (redis-cli too old for --rdb -), other bytes are INTEGRITY', async () => {
  await assert.rejects(run(Buffer.alloc(0), 1), (e: unknown) => {
    assert.ok(isLifeboatError(e, 'TOOL_FAILED'));
    assert.match(e.message, /redis-cli 7\.0 or newer/);
    return true;
  });
  await assert.rejects(run(Buffer.from('-ERR unknown command'), 2), (e: unknown) =>
    isLifeboatError(e, 'INTEGRITY'),
  );
  await assert.rejects(run(Buffer.from('RED'), 2), (e: unknown) =>
    isLifeboatError(e, 'TOOL_FAILED'),
  );
});
