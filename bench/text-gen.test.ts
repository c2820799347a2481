import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { TEXT_STYLES, TextGen } from './text-gen.js';

test('text continues seamlessly across calls and repeats for the same seed', () => {
  for (const style of TEXT_STYLES) {
    const whole = new TextGen('s', 'f', style).next(300_000);
    const g = new TextGen('s', 'f', style);
    const parts = Buffer.concat([g.next(7), g.next(100_000), g.next(1), g.next(199_992)]);
    assert.ok(whole.equals(parts), style);
    assert.ok(!whole.equals(new TextGen('s', 'g', style).next(300_000)), style);
  }
});

test('text compresses like real dumps and logs but does not repeat itself', () => {
  for (const style of TEXT_STYLES) {
    const text = new TextGen('s', 'f', style).next(2 << 20);
    const ratio = gzipSync(text).length / text.length;
    assert.ok(ratio > 0.15 && ratio < 0.6, `${style}: gzip ratio ${ratio}`);
    // No 4 KiB block occurs twice, so content-defined chunks cannot deduplicate.
    const blocks = new Set<string>();
    for (let i = 0; i + 4096 <= text.length; i += 4096)
      blocks.add(text.toString('latin1', i, i + 4096));
    assert.equal(blocks.size, Math.floor(text.length / 4096), style);
  }
});

test('json lines are valid JSON and sql lines are INSERT statements', () => {
  const lines = new TextGen('s', 'j', 'json')
    .next(100_000)
    .toString('utf8')
    .split('\n')
    .slice(0, -1);
  assert.ok(lines.length > 300);
  for (const line of lines) {
    const r = JSON.parse(line) as { id: number; created: string };
    assert.equal(typeof r.id, 'number');
    assert.match(r.created, /^20(19|2[0-4])-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  }
  const sql = new TextGen('s', 'q', 'sql').next(50_000).toString('utf8').split('\n').slice(0, -1);
  for (const line of sql)
    assert.match(line, /^INSERT INTO public\.orders .* VALUES \(\d+, '.*'\);$/);
});
