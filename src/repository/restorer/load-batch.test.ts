import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { isLifeboatError } from '../../core/errors.js';
import type { Backend } from '../../storage/backend.js';
import { createMemBackend } from '../../storage/mem/mem-backend.js';
import { initRepository } from '../open-repository.js';
import { BlobWriter } from '../pack/blob-writer.js';
import type { Repository } from '../repository.js';
import { loadBlobBatch } from './load-batch.js';

/** Counts pack reads. */
function counting(b: Backend): { backend: Backend; reads: () => number } {
  let n = 0;
  const backend = new Proxy(b, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver) as unknown;
      if (prop === 'load' && typeof v === 'function') {
        return (...args: unknown[]) => {
          const h = args[0] as { type: string };
          if (h.type === 'pack') n++;
          return (v as (...a: unknown[]) => unknown).apply(target, args);
        };
      }
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  return { backend, reads: () => n };
}

async function filled(
  count: number,
): Promise<{ repo: Repository; ids: string[]; data: Buffer[]; reads: () => number }> {
  const c = counting(createMemBackend());
  const repo = await initRepository(c.backend, 'pw', { kdf: { N: 1024, r: 8, p: 1 } });
  const w = new BlobWriter(repo);
  const data: Buffer[] = [];
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    // half compressible, half not, of varied sizes
    const d =
      i % 2 ? randomBytes(1000 + i * 37) : Buffer.alloc(2000 + i * 11, `text ${String(i)} `);
    data.push(d);
    ids.push((await w.save('data', d)).id);
  }
  await w.flush();
  return { repo, ids, data, reads: c.reads };
}

test('neighbouring blobs are read with one range read, each verified and in order', async () => {
  const { repo, ids, data, reads } = await filled(40);
  const before = reads();
  // A shuffled request with a file without content in the middle.
  const order = [...ids.keys()].reverse();
  const got = await Promise.all(loadBlobBatch(repo, [...order.map((i) => ids[i]), undefined]));
  assert.equal(reads() - before, 1, 'one pack, one read');
  order.forEach((i, k) => assert.ok(got[k]!.equals(data[i]!), `blob ${String(i)}`));
  assert.equal(got[order.length]!.length, 0);
  const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
  assert.deepEqual(
    got.slice(0, -1).map(sha),
    order.map((i) => ids[i]),
  );
});

test('an unknown blob fails alone; the others still load', async () => {
  const { repo, ids, data } = await filled(3);
  const loads = loadBlobBatch(repo, [ids[0], 'f'.repeat(64), ids[2]]);
  assert.ok((await loads[0]!).equals(data[0]!));
  await assert.rejects(loads[1]!, (e: unknown) => isLifeboatError(e, 'NOT_FOUND'));
  assert.ok((await loads[2]!).equals(data[2]!));
});
