import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { isLifeboatError } from '../../core/errors.js';
import type { Backend } from '../../storage/backend.js';
import { countLoads } from '../../storage/decorators/count-loads.js';
import { createMemBackend } from '../../storage/mem/mem-backend.js';
import { initRepository } from '../open-repository.js';
import { BlobWriter } from '../pack/blob-writer.js';
import type { Repository } from '../repository.js';
import { planRanges } from './load-batch.js';

/** Counts pack reads. */
function counting(b: Backend): { backend: Backend; reads: () => number } {
  const c = countLoads(b);
  return { backend: c.backend, reads: () => c.loads.get('pack') ?? 0 };
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

test('neighbouring blobs are planned as one range read, whatever the request order', async () => {
  const { repo, ids, reads } = await filled(40);
  // A shuffled request with a file without content in the middle.
  const order = [...ids.keys()].reverse();
  const plan = planRanges(repo, [...order.map((i) => ids[i]), undefined]);
  assert.equal(plan.unknown.length, 0);
  assert.equal(plan.ranges.length, 1, 'one pack, one read');
  const [range] = plan.ranges;
  assert.equal(range!.members.length, 40);
  // Each member lies inside the range, at its index position.
  for (const m of range!.members) {
    assert.equal(m.loc.id, ids[order[m.at]!]);
    assert.ok(m.loc.offset >= range!.start);
    assert.ok(m.loc.offset + m.loc.length <= range!.start + range!.length);
  }
  // The planned range really holds the blobs: open each from the bytes read.
  const before = reads();
  const raw = await repo.loadPackRange(range!.first, range!.start, range!.length);
  assert.equal(reads() - before, 1);
  for (const m of range!.members) {
    const at = m.loc.offset - range!.start;
    const plain = await repo.openBlob(m.loc, raw.subarray(at, at + m.loc.length));
    assert.equal(createHash('sha256').update(plain).digest('hex'), m.loc.id);
  }
});

test('an unknown blob is reported alone; the others are still planned', async () => {
  const { repo, ids } = await filled(3);
  const plan = planRanges(repo, [ids[0], 'f'.repeat(64), ids[2]]);
  assert.equal(plan.unknown.length, 1);
  assert.equal(plan.unknown[0]!.at, 1);
  assert.ok(isLifeboatError(plan.unknown[0]!.error, 'NOT_FOUND'));
  assert.deepEqual(plan.ranges.flatMap((r) => r.members.map((m) => m.at)).sort(), [0, 2]);
});
