import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rotation, runStep, type DbSample } from './steps.js';

test('rotation moves the first contestant to the back each repetition', () => {
  assert.deepEqual(rotation(['a', 'b', 'c'], 0), ['a', 'b', 'c']);
  assert.deepEqual(rotation(['a', 'b', 'c'], 1), ['b', 'c', 'a']);
  assert.deepEqual(rotation(['a', 'b', 'c'], 3), ['a', 'b', 'c']);
  assert.deepEqual(rotation([], 2), []);
});

test('runStep records every contestant in order, and a thrown error as a failed run', async () => {
  const samples: DbSample[] = [];
  const lines: string[] = [];
  await runStep(samples, (l) => lines.push(l), 'logical-backup', 1, 100, [
    {
      tool: 'x',
      run: () => Promise.resolve({ wallMs: 10, peakRssBytes: 1, exitCode: 0, problems: [] }),
    },
    { tool: 'y', run: () => Promise.reject(new Error('no server')) },
  ]);
  assert.deepEqual(
    samples.map((s) => [s.tool, s.position, s.exitCode, s.rep, s.sourceBytes]),
    [
      ['y', 1, -1, 1, 100],
      ['x', 2, 0, 1, 100],
    ],
  );
  assert.match(samples[0]!.problems[0]!, /could not run: no server/);
  assert.equal(lines.length, 2);
});
