import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { changeFiles, listFiles, undoChanges } from './change-files.js';
import { generateTree } from './generate.js';

function snapshot(root: string): Map<string, Buffer> {
  return new Map(listFiles(root).map((rel) => [rel, readFileSync(join(root, rel))]));
}

test('changeFiles alters ~1% of the files deterministically and undoChanges restores them', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bench-change-'));
  try {
    const root = join(dir, 'tree');
    generateTree(root, { scale: 0.01, seed: 'c' });
    const before = snapshot(root);
    assert.ok(before.size > 200);

    const log = changeFiles(root, { seed: 'c', round: 0, fraction: 0.01 });
    const after = snapshot(root);
    const changed = [...before]
      .filter(([rel, b]) => !b.equals(after.get(rel)!))
      .map(([rel]) => rel);
    assert.equal(log.files, Math.round(before.size * 0.01));
    assert.equal(changed.length, log.files);
    assert.ok(log.undo.some((u) => u.kind === 'append'));

    undoChanges(log);
    const restored = snapshot(root);
    for (const [rel, b] of before) assert.ok(b.equals(restored.get(rel)!), rel);

    // Same seed and round: the same files and bytes; another round: other files.
    const again = changeFiles(root, { seed: 'c', round: 0, fraction: 0.01 });
    assert.deepEqual(snapshot(root), after);
    undoChanges(again);
    const other = changeFiles(root, { seed: 'c', round: 1, fraction: 0.01 });
    assert.notDeepEqual(other.undo.map((u) => u.path).sort(), again.undo.map((u) => u.path).sort());
    undoChanges(other);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
