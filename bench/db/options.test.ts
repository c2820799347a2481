import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isLifeboatError } from '../../src/core/errors.js';
import { compileDbOptions } from './options.js';

const D = { out: 'R', lifeboat: '/lb' };

test('full-size defaults, --quick defaults, flags and environment', () => {
  const d = compileDbOptions([], {}, { out: '/x/R.md', lifeboat: '/lb' });
  assert.equal(d.scale, 50);
  assert.equal(d.reps, 3);
  assert.equal(d.eventsRows, 3_000_000);
  assert.equal(d.pgbenchSeconds, 30);
  assert.deepEqual(d.phases, ['logical', 'physical', 'dedup']);
  assert.equal(d.out, '/x/R.md');
  assert.equal(d.lifeboatRoot, '/lb');
  assert.equal(compileDbOptions(['--lifeboat', '/tmp/old/'], {}, D).lifeboatRoot, '/tmp/old');
  const q = compileDbOptions(['--quick'], {}, D);
  assert.equal(q.scale, 5);
  assert.equal(q.reps, 1);
  assert.equal(q.eventsRows, 300_000);
  const e = compileDbOptions(
    ['--quick', '--reps', '3'],
    { BENCH_DB_SCALE: '10', BENCH_DB_REPS: '4' },
    D,
  );
  assert.equal(e.scale, 10);
  assert.equal(e.reps, 3);
  const o = compileDbOptions(['--only', 'dedup,logical', '--no-out'], {}, D);
  assert.deepEqual(o.phases, ['logical', 'dedup']);
  assert.equal(o.out, undefined);
  assert.equal(o.fromJson, undefined);
  assert.equal(compileDbOptions(['--from-json', 'r.json'], {}, D).fromJson, 'r.json');
});

test('bad values are refused with the option named', () => {
  for (const [args, name] of [
    [['--scale', '0'], '--scale'],
    [['--scale', '2.5'], '--scale'],
    [['--scale', '5000'], '--scale'],
    [['--reps', 'two'], '--reps'],
    [['--only', 'logical,files'], '--only'],
    [['--only', ','], '--only'],
  ] as const) {
    assert.throws(
      () => compileDbOptions(args, {}, D),
      (e: unknown) => isLifeboatError(e, 'INVALID_ARGUMENT') && e.message.includes(name),
      args.join(' '),
    );
  }
  assert.throws(() => compileDbOptions(['--bogus'], {}, D), /bogus/);
});
