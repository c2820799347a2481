import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileExcludes } from './exclude.js';

test('unanchored patterns match any component', () => {
  const m = compileExcludes(['*.tmp', 'cache']);
  assert.ok(m.matches('/srv/app/a.tmp'));
  assert.ok(m.matches('/srv/cache'));
  assert.ok(m.matches('/srv/cache/deep/file'));
  assert.ok(!m.matches('/srv/app/a.tmpx'));
  assert.ok(!m.matches('/srv/caches'));
});

test('anchored patterns and ** and classes', () => {
  const m = compileExcludes(['/srv/*/logs', '/data/**/x[0-9].bin']);
  assert.ok(m.matches('/srv/app/logs'));
  assert.ok(!m.matches('/other/srv/app/logs'));
  assert.ok(m.matches('/data/x1.bin'));
  assert.ok(m.matches('/data/a/b/x7.bin'));
  assert.ok(!m.matches('/data/a/xa.bin'));
});

test('no patterns match nothing; empty pattern is an error', () => {
  assert.ok(!compileExcludes([]).matches('/a'));
  assert.throws(() => compileExcludes(['  ']), /empty exclude/);
});
