import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { listFiles } from './change-files.js';
import { generateStream, generateTree, planTree } from './generate.js';

const GiB = 1024 ** 3;

test('the full-size plan is ~1 GiB of ~20k small, some medium and a few large files, half text', () => {
  const specs = planTree({ scale: 1, seed: 'lifeboat-bench' });
  const total = specs.reduce((a, s) => a + s.size, 0);
  assert.ok(Math.abs(total - GiB) < 0.01 * GiB, `total ${total}`);
  const small = specs.filter((s) => s.size <= 64 * 1024);
  const large = specs.filter((s) => s.size >= 20 * 1024 * 1024);
  assert.ok(small.length >= 19_000 && small.length <= 21_000, `small ${small.length}`);
  assert.ok(large.length >= 2 && large.length <= 20, `large ${large.length}`);
  const text = specs.filter((s) => s.content === 'text').reduce((a, s) => a + s.size, 0);
  assert.ok(text / total > 0.4 && text / total < 0.6, `text share ${text / total}`);
  assert.equal(new Set(specs.map((s) => s.rel)).size, specs.length);
  assert.ok(
    specs.some((s) => s.rel.split('/').length >= 4),
    'nested directories',
  );
  assert.deepEqual(planTree({ scale: 1, seed: 'lifeboat-bench' }), specs);
});

function digest(root: string): string {
  const h = createHash('sha256');
  for (const rel of listFiles(root)) h.update(rel).update(readFileSync(join(root, rel)));
  return h.digest('hex');
}

test('generateTree and generateStream write the planned bytes, identically every time', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bench-gen-'));
  try {
    const opts = { scale: 0.003, seed: 'x' };
    const a = generateTree(join(dir, 'a'), opts);
    generateTree(join(dir, 'b'), opts);
    const plan = planTree(opts);
    assert.equal(a.files, plan.length);
    assert.equal(listFiles(join(dir, 'a')).length, plan.length);
    assert.equal(
      a.bytes,
      plan.reduce((n, s) => n + s.size, 0),
    );
    assert.equal(digest(join(dir, 'a')), digest(join(dir, 'b')));
    assert.notEqual(
      digest(join(dir, 'a')),
      (generateTree(join(dir, 'c'), { ...opts, seed: 'y' }), digest(join(dir, 'c'))),
    );

    const s = generateStream(join(dir, 's1'), opts);
    generateStream(join(dir, 's2'), opts);
    assert.equal(statSync(join(dir, 's1')).size, s.bytes);
    assert.equal(s.bytes, Math.round(GiB * 0.003));
    const bytes = readFileSync(join(dir, 's1'));
    assert.ok(bytes.equals(readFileSync(join(dir, 's2'))));
    assert.ok(bytes.toString('latin1', 0, 30).startsWith('--\n-- PostgreSQL'));
    const ratio = gzipSync(bytes).length / bytes.length;
    assert.ok(ratio > 0.5 && ratio < 0.9, `a mix of text and random runs: ratio ${ratio}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
