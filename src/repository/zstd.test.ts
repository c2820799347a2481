import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { LifeboatError } from '../core/errors.js';
import { zstdCompress, zstdCompressSync, zstdDecompress, zstdDecompressSync } from './zstd.js';

const text = Buffer.from('restic repository format, version 2\n'.repeat(3000));

test('the synchronous and thread-pool codecs read each other', async () => {
  for (const data of [text, randomBytes(70_000), Buffer.alloc(0)]) {
    for (const mode of ['auto', 'max'] as const) {
      const sync = zstdCompressSync(data, mode);
      const pooled = await zstdCompress(data, mode);
      assert.deepEqual(zstdDecompressSync(pooled, data.length), data);
      assert.deepEqual(await zstdDecompress(sync, data.length), data);
      assert.deepEqual(zstdDecompressSync(sync), data);
    }
  }
  assert.ok(zstdCompressSync(text, 'auto').length < text.length / 20);
});

test('synchronous decompression has the same bounds as the asynchronous one', async () => {
  const packed = zstdCompressSync(text, 'auto');
  const fails = async (fn: () => unknown, message: RegExp) => {
    await assert.rejects(
      async () => {
        await fn();
      },
      (err: unknown) =>
        err instanceof LifeboatError && err.code === 'INTEGRITY' && message.test(err.message),
    );
  };
  for (const decode of [zstdDecompressSync, zstdDecompress]) {
    // The index claims fewer bytes than the frame holds: refused, nothing larger allocated.
    await fails(() => decode(packed, text.length - 1, 'blob 1234'), /^blob 1234: /);
    // More than the limit is refused before any work.
    await fails(() => decode(packed, 1 << 30, 'blob', 1 << 20), /more than 1048576/);
    await fails(() => decode(packed, undefined, 'blob', 1000), /more than 1000/);
    // Garbage is corrupt data, not a crash.
    await fails(() => decode(randomBytes(100), 100), /blob: /);
    const damaged = Buffer.from(packed);
    damaged[damaged.length - 5]! ^= 0xff;
    await fails(() => decode(damaged, text.length), /blob: /);
  }
});
