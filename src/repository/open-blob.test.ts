import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import type { BlobLocation } from './blob.js';
import { MasterKey } from './crypto/master-key.js';
import { sha256Hex } from './ids.js';
import { openBlob, openBlobSync } from './open-blob.js';
import { sealCapacity, sealInto } from './pack/seal.js';

function sealed(key: MasterKey, data: Buffer, mode: 'off' | 'auto') {
  const dst = Buffer.alloc(sealCapacity(data.length));
  const r = sealInto(key, 'data', data, mode, dst);
  return { raw: dst.subarray(0, r.length), uncompressed: r.uncompressed };
}

// Large plaintexts are hashed on the thread pool, small ones in place: both must check the id.
for (const size of [4 * 1024, 2 * 1024 * 1024]) {
  for (const mode of ['off', 'auto'] as const) {
    test(`openBlob: ${String(size)} bytes, compression ${mode}: right id opens, wrong id is INTEGRITY`, async () => {
      const key = MasterKey.generate();
      const data = Buffer.concat([randomBytes(size / 2), Buffer.alloc(size / 2, 7)]);
      const { raw, uncompressed } = sealed(key, data, mode);
      const loc = (id: string): BlobLocation => ({
        id,
        type: 'data',
        offset: 0,
        length: raw.length,
        ...(uncompressed !== undefined ? { uncompressedLength: uncompressed } : {}),
        packId: 'ab'.repeat(32),
      });
      assert.deepEqual(await openBlob(key, loc(sha256Hex(data)), Buffer.from(raw)), data);
      const wrong = sha256Hex(Buffer.from('something else'));
      await assert.rejects(
        openBlob(key, loc(wrong), Buffer.from(raw)),
        (e: Error & { code?: string }) => {
          assert.equal(e.code, 'INTEGRITY');
          assert.match(e.message, /content does not match its id/);
          return true;
        },
      );
      assert.throws(() => openBlobSync(key, loc(wrong), Buffer.from(raw)), /does not match its id/);
    });
  }
}
