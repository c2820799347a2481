/**
 * The contract test suite every backend must pass (backend.ts states the semantics).
 * A backend's test file calls `backendContract(name, make)`; `make` returns a fresh, empty
 * backend whose create() has not necessarily been called, and a dispose() that removes it.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { isLifeboatError, type ErrorCode } from '../core/errors.js';
import { FILE_TYPES, isNotFound, type Backend, type FileType, type Handle } from './backend.js';
import { isAlreadyExists } from './storage-errors.js';

export interface BackendFixture {
  backend: Backend;
  dispose(): Promise<void>;
}

const MiB = 1024 * 1024;
const idOf = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');
const handleFor = (type: FileType, data: Uint8Array): Handle => ({
  type,
  name: type === 'config' ? 'config' : idOf(data),
});

export async function collect(it: AsyncIterable<{ name: string; size: number }>) {
  const out: { name: string; size: number }[] = [];
  for await (const info of it) out.push(info);
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

export async function rejectsWith(p: Promise<unknown>, code: ErrorCode): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(isLifeboatError(err), `expected a LifeboatError, got ${String(err)}`);
    assert.equal(err.code, code, `expected ${code}, got ${err.code}: ${err.message}`);
    return true;
  });
}

const BAD_NAMES = [
  '../x',
  `../${'a'.repeat(61)}`,
  `/${'a'.repeat(63)}`,
  `${'a'.repeat(31)}/${'a'.repeat(32)}`,
  'A'.repeat(64),
  'a'.repeat(63),
  'a'.repeat(65),
  'g'.repeat(64),
  `${'a'.repeat(64)}\n`,
  '..',
  '',
];

export function backendContract(name: string, make: () => Promise<BackendFixture>): void {
  async function use(fn: (b: Backend) => Promise<void>): Promise<void> {
    const fixture = await make();
    try {
      await fixture.backend.create();
      await fn(fixture.backend);
      await fixture.backend.close();
    } finally {
      await fixture.dispose();
    }
  }

  describe(`backend contract: ${name}`, () => {
    it('create is idempotent', async () => {
      await use(async (b) => {
        const data = randomBytes(100);
        await b.save(handleFor('pack', data), data);
        await b.create();
        assert.deepEqual(await b.load(handleFor('pack', data)), data);
      });
    });

    it('hasConfig is false before and true after saving config', async () => {
      await use(async (b) => {
        assert.equal(await b.hasConfig(), false);
        assert.deepEqual(await collect(b.list('config')), []);
        await b.save({ type: 'config', name: 'config' }, Buffer.from('cfg'));
        assert.equal(await b.hasConfig(), true);
        assert.deepEqual(await collect(b.list('config')), [{ name: 'config', size: 3 }]);
      });
    });

    it('round-trips every file type, and stat reports the size', async () => {
      await use(async (b) => {
        for (const type of FILE_TYPES) {
          const data = randomBytes(1000 + type.length);
          const h = handleFor(type, data);
          await b.save(h, data);
          assert.deepEqual(await b.load(h), data, type);
          assert.deepEqual(await b.stat(h), { name: h.name, size: data.length }, type);
        }
      });
    });

    it('saves data given in parts (more than one writev batch) back to back', async () => {
      await use(async (b) => {
        const parts = Array.from({ length: 2500 }, (_, i) =>
          randomBytes(i % 7 === 0 ? 0 : i % 300),
        );
        const whole = Buffer.concat(parts);
        const h = handleFor('pack', whole);
        await b.save(h, parts);
        assert.deepEqual(await b.load(h), whole);
      });
    });

    it('loads exact ranges and treats reading past the end as INTEGRITY', async () => {
      await use(async (b) => {
        const data = randomBytes(4096);
        const h = handleFor('pack', data);
        await b.save(h, data);
        assert.deepEqual(await b.load(h, { offset: 100, length: 50 }), data.subarray(100, 150));
        assert.deepEqual(await b.load(h, { offset: 4000 }), data.subarray(4000));
        assert.deepEqual(await b.load(h, { offset: 10, length: 0 }), data.subarray(10));
        assert.deepEqual(await b.load(h, { offset: 4090, length: 6 }), data.subarray(4090));
        // A buffer to read into (large enough, or not) changes nothing about the result.
        const into = Buffer.alloc(100);
        assert.deepEqual(await b.load(h, { offset: 7, length: 60, into }), data.subarray(7, 67));
        assert.deepEqual(await b.load(h, { offset: 7, length: 200, into }), data.subarray(7, 207));
        assert.equal((await b.load(h, { offset: 4096 })).length, 0);
        await rejectsWith(b.load(h, { offset: 4096, length: 1 }), 'INTEGRITY');
        await rejectsWith(b.load(h, { offset: 4090, length: 7 }), 'INTEGRITY');
        await rejectsWith(b.load(h, { offset: 5000 }), 'INTEGRITY');
        await rejectsWith(b.load(h, { offset: -1 }), 'INVALID_ARGUMENT');
        await rejectsWith(b.load(h, { offset: 0, length: 1.5 }), 'INVALID_ARGUMENT');
      });
    });

    it('reports missing files as NOT_FOUND', async () => {
      await use(async (b) => {
        const h = handleFor('index', randomBytes(10));
        const calls = [() => b.load(h), () => b.load(h, { offset: 0, length: 1 }), () => b.stat(h)];
        for (const call of calls) await assert.rejects(call(), (err: unknown) => isNotFound(err));
        await rejectsWith(b.load({ type: 'config', name: 'config' }), 'NOT_FOUND');
      });
    });

    it('lists each type separately, packs across shards, nothing for an empty type', async () => {
      await use(async (b) => {
        const packs = Array.from({ length: 12 }, (_, i) => randomBytes(10 + i));
        for (const p of packs) await b.save(handleFor('pack', p), p);
        const key = randomBytes(7);
        await b.save(handleFor('key', key), key);
        const expected = packs.map((p) => ({ name: idOf(p), size: p.length }));
        expected.sort((x, y) => x.name.localeCompare(y.name));
        assert.ok(new Set(expected.map((e) => e.name.slice(0, 2))).size > 1, 'several shards');
        assert.deepEqual(await collect(b.list('pack')), expected);
        assert.deepEqual(await collect(b.list('key')), [{ name: idOf(key), size: 7 }]);
        assert.deepEqual(await collect(b.list('snapshot')), []);
        assert.deepEqual(await collect(b.list('lock')), []);
      });
    });

    it('refuses to replace an existing file unless overwrite is set', async () => {
      await use(async (b) => {
        const first = randomBytes(64);
        const h = handleFor('lock', first);
        await b.save(h, first);
        await assert.rejects(b.save(h, randomBytes(64)), (err: unknown) => isAlreadyExists(err));
        assert.deepEqual(await b.load(h), first);
        const second = randomBytes(80);
        await b.save(h, second, { overwrite: true });
        assert.deepEqual(await b.load(h), second);
        assert.equal((await collect(b.list('lock'))).length, 1);
      });
    });

    it('lets exactly one of two concurrent saves of one name win', async () => {
      await use(async (b) => {
        const [x, y] = [randomBytes(3 * MiB), randomBytes(3 * MiB)];
        const h = handleFor('pack', x);
        const results = await Promise.allSettled([b.save(h, x), b.save(h, y)]);
        const won = results.filter((r) => r.status === 'fulfilled').length;
        assert.equal(won, 1, JSON.stringify(results.map((r) => r.status)));
        const lost = results.find((r) => r.status === 'rejected');
        assert.ok(isAlreadyExists(lost?.reason), String(lost?.reason));
        const stored = await b.load(h);
        assert.deepEqual(stored, results[0]?.status === 'fulfilled' ? x : y);
      });
    });

    it('removes idempotently', async () => {
      await use(async (b) => {
        const data = randomBytes(32);
        const h = handleFor('snapshot', data);
        await b.save(h, data);
        await b.remove(h);
        await b.remove(h);
        await rejectsWith(b.stat(h), 'NOT_FOUND');
        assert.deepEqual(await collect(b.list('snapshot')), []);
        await b.save(h, data); // the name is free again
      });
    });

    it('keeps all of 50 concurrent saves', async () => {
      await use(async (b) => {
        const blobs = Array.from({ length: 50 }, () => randomBytes(2000));
        await Promise.all(blobs.map((d) => b.save(handleFor('pack', d), d)));
        assert.equal((await collect(b.list('pack'))).length, 50);
        for (const d of blobs) assert.deepEqual(await b.load(handleFor('pack', d)), d);
      });
    });

    it('round-trips a 20 MiB file', async () => {
      await use(async (b) => {
        const data = randomBytes(20 * MiB);
        const h = handleFor('pack', data);
        await b.save(h, data);
        assert.ok((await b.load(h)).equals(data));
        const mid = await b.load(h, { offset: 7 * MiB + 3, length: 5 * MiB });
        assert.ok(mid.equals(data.subarray(7 * MiB + 3, 12 * MiB + 3)));
      });
    });

    it('copies data: callers may reuse buffers they saved or loaded', async () => {
      await use(async (b) => {
        const data = randomBytes(256);
        const original = Buffer.from(data);
        const h = handleFor('index', data);
        await b.save(h, data);
        data.fill(0);
        const loaded = await b.load(h);
        assert.deepEqual(loaded, original);
        loaded.fill(1);
        assert.deepEqual(await b.load(h), original);
      });
    });

    it('rejects names that are not ids and unknown types with INVALID_ARGUMENT', async () => {
      await use(async (b) => {
        const data = Buffer.from('x');
        for (const type of FILE_TYPES.filter((t) => t !== 'config')) {
          for (const bad of BAD_NAMES) {
            const h = { type, name: bad };
            await rejectsWith(b.save(h, data), 'INVALID_ARGUMENT');
            await rejectsWith(b.load(h), 'INVALID_ARGUMENT');
            await rejectsWith(b.stat(h), 'INVALID_ARGUMENT');
            await rejectsWith(b.remove(h), 'INVALID_ARGUMENT');
          }
        }
        const bogus = { type: 'bogus' as FileType, name: 'a'.repeat(64) };
        await rejectsWith(b.save(bogus, data), 'INVALID_ARGUMENT');
        await rejectsWith(collect(b.list('bogus' as FileType)), 'INVALID_ARGUMENT');
        assert.equal(await b.hasConfig(), false);
      });
    });

    it('does not store a save that was cancelled', async () => {
      await use(async (b) => {
        const data = randomBytes(100);
        const h = handleFor('pack', data);
        const ac = new AbortController();
        ac.abort();
        await rejectsWith(b.save(h, data, { signal: ac.signal }), 'CANCELLED');
        await rejectsWith(b.load(h, undefined, ac.signal), 'CANCELLED');
        await rejectsWith(b.stat(h), 'NOT_FOUND');
        assert.deepEqual(await collect(b.list('pack')), []);
      });
    });
  });
}
