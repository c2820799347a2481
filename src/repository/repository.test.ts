import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Backend } from '../storage/backend.js';
import { createMemBackend } from '../storage/mem/mem-backend.js';
import { initRepository, openRepository } from './open-repository.js';
import { BlobWriter } from './pack/blob-writer.js';

/** Counts loads of each file type. */
function counting(b: Backend): { backend: Backend; loads: Map<string, number> } {
  const loads = new Map<string, number>();
  const backend = new Proxy(b, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver) as unknown;
      if (prop === 'load' && typeof v === 'function') {
        return (...args: unknown[]) => {
          const h = args[0] as { type: string };
          loads.set(h.type, (loads.get(h.type) ?? 0) + 1);
          return (v as (...a: unknown[]) => unknown).apply(target, args);
        };
      }
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  return { backend, loads };
}

test('concurrent loadIndex calls share one load; a failed load can be retried', async () => {
  const mem = createMemBackend();
  const repo = await initRepository(mem, 'pw', { kdf: { N: 1024, r: 8, p: 1 } });
  const w = new BlobWriter(repo, { packsPerIndex: 1, packSize: 4096 });
  for (let i = 0; i < 5; i++) await w.save('data', Buffer.alloc(5000, i));
  await w.flush();

  const c = counting(mem);
  const fresh = await openRepository(c.backend, 'pw');
  await Promise.all([fresh.loadIndex(), fresh.loadIndex(), fresh.loadIndex()]);
  let files = 0;
  for await (const f of mem.list('index')) if (f.name) files++;
  assert.ok(files >= 1);
  assert.equal(c.loads.get('index'), files, 'each index file read once');
  await fresh.loadIndex();
  assert.equal(c.loads.get('index'), files);
  assert.equal(fresh.index.size, 5);

  // An aborted load fails every caller, and a later call loads again.
  const again = await openRepository(mem, 'pw');
  const ac = new AbortController();
  ac.abort();
  await assert.rejects(Promise.all([again.loadIndex(ac.signal), again.loadIndex()]));
  await again.loadIndex();
  assert.equal(again.index.size, 5);
});
