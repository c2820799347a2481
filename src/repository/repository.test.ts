import { test } from 'node:test';
import assert from 'node:assert/strict';
import { countLoads } from '../storage/decorators/count-loads.js';
import { createMemBackend } from '../storage/mem/mem-backend.js';
import { initRepository, openRepository } from './open-repository.js';
import { BlobWriter } from './pack/blob-writer.js';

test('concurrent loadIndex calls share one load; a failed load can be retried', async () => {
  const mem = createMemBackend();
  const repo = await initRepository(mem, 'pw', { kdf: { N: 1024, r: 8, p: 1 } });
  const w = new BlobWriter(repo, { packsPerIndex: 1, packSize: 4096 });
  for (let i = 0; i < 5; i++) await w.save('data', Buffer.alloc(5000, i));
  await w.flush();

  const c = countLoads(mem);
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
