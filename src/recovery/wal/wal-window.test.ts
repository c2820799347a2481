import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseLsn, parseTimelineHistory } from '../../engines/postgres/wal-names.js';
import type { WalCatalog, WalEntry } from './wal-catalog.js';
import { walWindow } from './wal-window.js';

function catalog(names: string[]): WalCatalog {
  const files = new Map<string, WalEntry>();
  for (const [i, name] of names.entries()) {
    files.set(name, { name, snapshotId: `snap${String(i)}`, time: '2026-11-22T00:00:00Z' });
  }
  return { files, snapshots: [] };
}

const seg = (tli: number, n: number) =>
  `${tli.toString(16).padStart(8, '0')}00000000${n.toString(16).padStart(8, '0')}`.toUpperCase();

test('contiguous WAL from the base start: window ends after the last segment', () => {
  const w = walWindow(
    catalog([seg(1, 1), seg(1, 2), seg(1, 3), seg(1, 4)]),
    new Map(),
    parseLsn('0/2000028'),
  );
  assert.equal(w.firstSegment, seg(1, 2));
  assert.equal(w.lastSegment, seg(1, 4));
  assert.equal(w.endLsn, parseLsn('0/5000000'));
  assert.deepEqual(w.gaps, []);
  assert.deepEqual(
    w.files.map((f) => f.as),
    [seg(1, 2), seg(1, 3), seg(1, 4)],
    'segments before the base start are not needed',
  );
});

test('a missing segment with WAL after it is a gap; the window stops before it', () => {
  const w = walWindow(
    catalog([seg(1, 2), seg(1, 3), seg(1, 5), seg(1, 6)]),
    new Map(),
    parseLsn('0/2000028'),
  );
  assert.equal(w.lastSegment, seg(1, 3));
  assert.equal(w.endLsn, parseLsn('0/4000000'));
  assert.deepEqual(w.gaps, [{ missing: seg(1, 4), count: 1, resumesAt: seg(1, 5) }]);
  assert.equal(w.files.length, 2, 'nothing past the gap is fetched');
});

test('a streamed partial ends the window and is restored under the segment name', () => {
  const w = walWindow(
    catalog([seg(1, 2), `${seg(1, 3)}.partial`]),
    new Map(),
    parseLsn('0/2000028'),
  );
  assert.equal(w.lastSegment, seg(1, 3));
  assert.equal(w.endsInPartial, true);
  assert.deepEqual(w.files.at(-1)?.as, seg(1, 3));
  assert.equal(w.files.at(-1)?.entry.name, `${seg(1, 3)}.partial`);
});

test('the complete segment wins over a partial of it', () => {
  const w = walWindow(
    catalog([seg(1, 2), `${seg(1, 2)}.partial`]),
    new Map(),
    parseLsn('0/2000028'),
  );
  assert.equal(w.endsInPartial, false);
  assert.equal(w.files[0]?.entry.name, seg(1, 2));
});

test('after a promotion, WAL follows the newest timeline through its history', () => {
  const history = parseTimelineHistory('1\t0/4000100\tno recovery target specified\n');
  const w = walWindow(
    catalog([
      seg(1, 2),
      seg(1, 3),
      `${seg(1, 4)}.partial`,
      '00000002.history',
      seg(2, 4),
      seg(2, 5),
    ]),
    new Map([[2, history]]),
    parseLsn('0/2000028'),
  );
  assert.equal(w.timeline, 2);
  assert.deepEqual(
    w.files.map((f) => f.as),
    ['00000002.history', seg(1, 2), seg(1, 3), seg(2, 4), seg(2, 5)],
  );
  assert.deepEqual(w.forks, []);
});

test('a timeline not on the followed path is reported as a fork', () => {
  const history = parseTimelineHistory('1\t0/4000100\treason\n');
  const w = walWindow(
    catalog([seg(1, 2), seg(1, 3), seg(2, 4), seg(3, 4), '00000003.history']),
    new Map([
      [3, parseTimelineHistory('1\t0/4000100\treason\n')],
      [2, history],
    ]),
    parseLsn('0/2000028'),
  );
  assert.equal(w.timeline, 3);
  assert.deepEqual(w.forks, [2]);
});

test('no WAL at all: the window is empty, not an error', () => {
  const w = walWindow(catalog([]), new Map(), parseLsn('0/2000028'));
  assert.equal(w.lastSegment, null);
  assert.equal(w.files.length, 0);
});
