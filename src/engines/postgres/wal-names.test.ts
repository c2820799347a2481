import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isLifeboatError } from '../../core/errors.js';
import {
  checkSegmentSize,
  formatLsn,
  historyFileName,
  isBackupHistoryName,
  isHistoryFileName,
  isLsn,
  isPartialName,
  isSegmentName,
  nextSegmentName,
  parseBackupHistoryName,
  parseHistoryFileName,
  parseLsn,
  parseSegmentName,
  parseTimelineHistory,
  segmentLsnRange,
  segmentName,
  segmentNameForLsn,
  segmentOfLsn,
  segmentsBetween,
  timelineOfLsn,
  timelineOfSegment,
  timelineSpans,
} from './wal-names.js';

const MiB = 1024 * 1024;

function throwsCode(fn: () => unknown, code: 'INVALID_ARGUMENT' | 'INTEGRITY'): void {
  assert.throws(fn, (e: unknown) => isLifeboatError(e, code));
}

describe('LSNs', () => {
  test('parse and format round-trip', () => {
    assert.equal(parseLsn('16/B374D848'), 0x16b374d848n);
    assert.equal(parseLsn('0/0'), 0n);
    assert.equal(parseLsn('ffffffff/ffffffff'), (1n << 64n) - 1n);
    assert.equal(formatLsn(0x16b374d848n), '16/B374D848');
    assert.equal(formatLsn(0n), '0/0');
    assert.equal(formatLsn(0x2000028n), '0/2000028');
    for (const t of ['0/2000028', 'A/0', 'FFFFFFFF/FFFFFFFF', '1/1'])
      assert.equal(formatLsn(parseLsn(t)), t);
  });

  test('rejects malformed LSNs', () => {
    for (const bad of [
      '',
      '0',
      '0/',
      '/0',
      '1/2/3',
      '123456789/0',
      '0/123456789',
      'G/0',
      ' 0/0',
      '0/0\n',
      '-1/0',
    ]) {
      assert.equal(isLsn(bad), false, bad);
      throwsCode(() => parseLsn(bad), 'INVALID_ARGUMENT');
    }
    throwsCode(() => formatLsn(-1n), 'INVALID_ARGUMENT');
    throwsCode(() => formatLsn(1n << 64n), 'INVALID_ARGUMENT');
  });
});

describe('segment names', () => {
  test('segment of an LSN and its name, 16 MiB segments', () => {
    // 0/2000028 lies in segment 2; 16/B374D848 in segment 0x16B3 = log 0x16, seg 0xB3.
    assert.equal(segmentOfLsn(0x2000028n), 2);
    assert.equal(segmentNameForLsn(1, 0x2000028n), '000000010000000000000002');
    assert.equal(segmentNameForLsn(1, parseLsn('16/B374D848')), '0000000100000016000000B3');
    assert.equal(segmentNameForLsn(0x1a, parseLsn('16/FFFFFFFF')), '0000001A00000016000000FF');
    assert.equal(segmentNameForLsn(1, parseLsn('17/0')), '000000010000001700000000');
  });

  test('other segment sizes change the radix of the seg part', () => {
    // 1 GiB segments: 4 per 4 GiB, so 16/B374D848 is seg 2 of log 0x16.
    assert.equal(
      segmentNameForLsn(1, parseLsn('16/B374D848'), 1024 * MiB),
      '000000010000001600000002',
    );
    // 1 MiB segments: 4096 per 4 GiB.
    assert.equal(segmentNameForLsn(1, parseLsn('16/B374D848'), MiB), '000000010000001600000B37');
    assert.equal(parseSegmentName('000000010000001600000B37', MiB).segno, 0x16 * 4096 + 0xb37);
    // A seg part that is valid for 1 MiB segments is not for 16 MiB ones.
    throwsCode(() => parseSegmentName('000000010000001600000B37'), 'INVALID_ARGUMENT');
  });

  test('segment size must be a power of two from 1 MiB to 1 GiB', () => {
    for (const ok of [MiB, 2 * MiB, 16 * MiB, 1024 * MiB]) assert.equal(checkSegmentSize(ok), ok);
    for (const bad of [0, MiB / 2, 3 * MiB, 2048 * MiB, 16.5 * MiB, NaN]) {
      throwsCode(() => checkSegmentSize(bad), 'INVALID_ARGUMENT');
    }
  });

  test('LSN range of a segment, next segment, round trips', () => {
    assert.deepEqual(segmentLsnRange(2), { start: 0x2000000n, end: 0x3000000n });
    assert.deepEqual(segmentLsnRange(0x16b3), {
      start: parseLsn('16/B3000000'),
      end: parseLsn('16/B4000000'),
    });
    assert.equal(nextSegmentName('000000010000000000000002'), '000000010000000000000003');
    assert.equal(nextSegmentName('0000000200000016000000FF'), '000000020000001700000000');
    assert.equal(
      nextSegmentName('000000010000001600000003', 1024 * MiB),
      '000000010000001700000000',
    );
    for (const segno of [0, 1, 255, 256, 0x16b3, 2 ** 40 - 1]) {
      const name = segmentName(7, segno);
      assert.deepEqual(parseSegmentName(name), { timeline: 7, segno });
      assert.equal(segmentOfLsn(segmentLsnRange(segno).start), segno);
      assert.equal(segmentOfLsn(segmentLsnRange(segno).end - 1n), segno);
    }
    assert.deepEqual(parseSegmentName('000000030000000000000009.partial'), {
      timeline: 3,
      segno: 9,
    });
    throwsCode(() => segmentName(1, 2 ** 40), 'INVALID_ARGUMENT');
    throwsCode(() => segmentName(0, 1), 'INVALID_ARGUMENT');
    throwsCode(() => parseSegmentName('000000000000000000000001'), 'INVALID_ARGUMENT');
  });

  test('classifies archive file names', () => {
    assert.equal(isSegmentName('000000010000000000000002'), true);
    assert.equal(isSegmentName('00000001000000000000000A'), true);
    assert.equal(isSegmentName('00000001000000000000000a'), false);
    assert.equal(isSegmentName('00000001000000000000002'), false);
    assert.equal(isSegmentName('000000010000000000000002.partial'), false);
    assert.equal(isPartialName('000000010000000000000002.partial'), true);
    assert.equal(isPartialName('000000010000000000000002'), false);
    assert.equal(isHistoryFileName('00000002.history'), true);
    assert.equal(isHistoryFileName('2.history'), false);
    assert.equal(isHistoryFileName('00000002.history.tmp'), false);
    assert.equal(isBackupHistoryName('000000010000000000000002.00000028.backup'), true);
    assert.equal(isBackupHistoryName('000000010000000000000002.backup'), false);
    assert.equal(isSegmentName('000000010000000000000002.00000028.backup'), false);
    assert.equal(historyFileName(2), '00000002.history');
    assert.equal(historyFileName(0x1f), '0000001F.history');
    assert.equal(parseHistoryFileName('0000001F.history'), 0x1f);
    throwsCode(() => parseHistoryFileName('00000000.history'), 'INVALID_ARGUMENT');
  });

  test('backup history file names give the backup start', () => {
    assert.deepEqual(parseBackupHistoryName('000000010000000000000002.00000028.backup'), {
      segment: '000000010000000000000002',
      timeline: 1,
      startLsn: parseLsn('0/2000028'),
    });
    throwsCode(
      () => parseBackupHistoryName('000000010000000000000002.01000000.backup'),
      'INVALID_ARGUMENT',
    );
    throwsCode(() => parseBackupHistoryName('00000002.history'), 'INVALID_ARGUMENT');
  });
});

describe('timeline history', () => {
  // What a server wrote after two promotions: timeline 1 left at 0/3000158, timeline 2 at 0/5A0000D8.
  const text = [
    '1\t0/3000158\tno recovery target specified',
    '',
    '2\t0/5A0000D8\tat restore point "before_drop"',
    '',
  ].join('\n');

  test('parses the file as the server writes it', () => {
    assert.deepEqual(parseTimelineHistory(text), [
      { parentTli: 1, switchLsn: parseLsn('0/3000158'), reason: 'no recovery target specified' },
      { parentTli: 2, switchLsn: parseLsn('0/5A0000D8'), reason: 'at restore point "before_drop"' },
    ]);
    assert.deepEqual(parseTimelineHistory(''), []);
    assert.deepEqual(parseTimelineHistory('# comment\n\n  3\t1/0\n'), [
      { parentTli: 3, switchLsn: parseLsn('1/0'), reason: '' },
    ]);
  });

  test('rejects damaged history files', () => {
    throwsCode(() => parseTimelineHistory('one\t0/1\tx\n'), 'INTEGRITY');
    throwsCode(() => parseTimelineHistory('1\n'), 'INTEGRITY');
    throwsCode(() => parseTimelineHistory('1\t0/3000158\n1\t0/4000000\n'), 'INTEGRITY');
    throwsCode(() => parseTimelineHistory('1\t0/5000000\n2\t0/4000000\n'), 'INTEGRITY');
    throwsCode(() => parseTimelineHistory('0\t0/5000000\n'), 'INTEGRITY');
    throwsCode(() => timelineSpans(parseTimelineHistory('3\t0/1\n'), 3), 'INTEGRITY');
  });

  test('spans and the timeline of an LSN; a switch point belongs to the new timeline', () => {
    const h = parseTimelineHistory(text);
    assert.deepEqual(timelineSpans(h, 3), [
      { tli: 1, begin: 0n, end: 0x3000158n },
      { tli: 2, begin: 0x3000158n, end: 0x5a0000d8n },
      { tli: 3, begin: 0x5a0000d8n, end: null },
    ]);
    assert.deepEqual(timelineSpans([], 1), [{ tli: 1, begin: 0n, end: null }]);
    assert.equal(timelineOfLsn(h, 3, 0n), 1);
    assert.equal(timelineOfLsn(h, 3, 0x3000157n), 1);
    assert.equal(timelineOfLsn(h, 3, 0x3000158n), 2);
    assert.equal(timelineOfLsn(h, 3, 0x5a0000d7n), 2);
    assert.equal(timelineOfLsn(h, 3, 0x5a0000d8n), 3);
    assert.equal(timelineOfLsn(h, 3, parseLsn('FF/0')), 3);
    assert.equal(timelineOfLsn([], 1, 0x5a0000d8n), 1);
  });

  test('a segment holding a switch point is read from the new timeline', () => {
    const h = parseTimelineHistory(text);
    assert.equal(timelineOfSegment(h, 3, 2), 1);
    assert.equal(timelineOfSegment(h, 3, 3), 2); // holds 0/3000158
    assert.equal(timelineOfSegment(h, 3, 0x59), 2);
    assert.equal(timelineOfSegment(h, 3, 0x5a), 3); // holds 0/5A0000D8
    assert.deepEqual(segmentsBetween(h, 3, parseLsn('0/2000028'), parseLsn('0/5B000000')), [
      '000000010000000000000002',
      ...Array.from({ length: 0x5a - 3 }, (_, i) => segmentName(2, 3 + i)),
      '00000003000000000000005A',
      '00000003000000000000005B',
    ]);
    assert.deepEqual(segmentsBetween([], 1, parseLsn('0/2000028'), parseLsn('0/2000100')), [
      '000000010000000000000002',
    ]);
    throwsCode(() => segmentsBetween([], 1, 10n, 9n), 'INVALID_ARGUMENT');
  });

  test('a switch at a segment boundary starts the new timeline with that segment', () => {
    const h = parseTimelineHistory('1\t0/4000000\tx\n');
    assert.deepEqual(segmentsBetween(h, 2, parseLsn('0/3000028'), parseLsn('0/4000000')), [
      '000000010000000000000003',
      '000000020000000000000004',
    ]);
  });
});
