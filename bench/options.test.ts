import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isLifeboatError } from '../src/core/errors.js';
import { compileOptions } from './options.js';

test('defaults, environment and flags, flags winning', () => {
  const d = compileOptions([], {}, '/x/RESULTS.md');
  assert.equal(d.scale, 1);
  assert.equal(d.reps, 2);
  assert.equal(d.smallReps, 3);
  assert.deepEqual(d.suites, ['tree', 'stream']);
  assert.equal(d.out, '/x/RESULTS.md');
  const e = compileOptions(['--reps', '1'], { BENCH_SCALE: '0.1', BENCH_REPS: '4' }, 'R');
  assert.equal(e.scale, 0.1);
  assert.equal(e.reps, 1);
  const f = compileOptions(['--scale', '0.02', '--only', 'stream', '--no-out'], {}, 'R');
  assert.deepEqual(f.suites, ['stream']);
  assert.equal(f.out, undefined);
});

test('bad values are refused with the option named', () => {
  for (const [args, name] of [
    [['--scale', '0'], '--scale'],
    [['--scale', 'big'], '--scale'],
    [['--reps', '1.5'], '--reps'],
    [['--only', 'files'], '--only'],
  ] as const) {
    assert.throws(
      () => compileOptions(args, {}, 'R'),
      (e: unknown) => isLifeboatError(e, 'INVALID_ARGUMENT') && e.message.includes(name),
    );
  }
  assert.throws(() => compileOptions(['--bogus'], {}, 'R'), /bogus/);
});
