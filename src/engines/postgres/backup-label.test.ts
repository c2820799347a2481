import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isLifeboatError } from '../../core/errors.js';
import { parseBackupLabel, parseManifestWalRanges } from './backup-label.js';

// As pg_basebackup 15 wrote them (backup_label in the tar; the .backup file in the archive).
const LABEL = `START WAL LOCATION: 0/2000028 (file 000000010000000000000002)
CHECKPOINT LOCATION: 0/2000060
BACKUP METHOD: streamed
BACKUP FROM: primary
START TIME: 2026-11-22 00:07:58 UTC
LABEL: nightly: base
START TIMELINE: 1
`;
const HISTORY = `START WAL LOCATION: 0/3000028 (file 000000020000000000000003)
STOP WAL LOCATION: 0/4000100 (file 000000020000000000000004)
CHECKPOINT LOCATION: 0/3000060
BACKUP METHOD: streamed
BACKUP FROM: primary
START TIME: 2026-11-22 00:08:03 UTC
LABEL: mylabel
START TIMELINE: 2
STOP TIME: 2026-11-22 00:08:03 UTC
STOP TIMELINE: 2
`;

test('parses backup_label', () => {
  assert.deepEqual(parseBackupLabel(LABEL), {
    startLsn: 0x2000028n,
    startSegment: '000000010000000000000002',
    startTimeline: 1,
    checkpointLsn: 0x2000060n,
    label: 'nightly: base',
    backupFrom: 'primary',
    startTime: '2026-11-22 00:07:58 UTC',
    stopLsn: null,
    stopSegment: null,
    stopTimeline: null,
  });
});

test('parses a backup history file, with its stop point', () => {
  const h = parseBackupLabel(HISTORY, '000000020000000000000003.00000028.backup');
  assert.equal(h.startTimeline, 2);
  assert.equal(h.stopLsn, 0x4000100n);
  assert.equal(h.stopSegment, '000000020000000000000004');
  assert.equal(h.stopTimeline, 2);
});

test('old labels without START TIMELINE take it from the segment name', () => {
  const old = LABEL.replace('START TIMELINE: 1\n', '').replace('file 00000001', 'file 00000003');
  assert.equal(parseBackupLabel(old).startTimeline, 3);
});

test('rejects damaged labels with INTEGRITY', () => {
  const bad = [
    '',
    'LABEL: x\n',
    LABEL.replace('0/2000028 (file', '0/2000028 (fil'),
    LABEL.replace('0/2000028', 'zz'),
    LABEL.replace('START TIMELINE: 1', 'START TIMELINE: one'),
    LABEL.replace('CHECKPOINT LOCATION: 0/2000060', 'CHECKPOINT LOCATION: x'),
  ];
  for (const text of bad) {
    assert.throws(
      () => parseBackupLabel(text),
      (e: unknown) => isLifeboatError(e, 'INTEGRITY'),
      text,
    );
  }
});

test('reads WAL-Ranges from the end of a manifest', () => {
  const tail = `"Size": 8192, "Last-Modified": "2026-11-22 00:07:58 GMT", "Checksum-Algorithm": "CRC32C", "Checksum": "ab" }
],
"WAL-Ranges": [
{ "Timeline": 2, "Start-LSN": "0/5000000", "End-LSN": "0/5000100" },
{ "Timeline": 1, "Start-LSN": "0/4000028", "End-LSN": "0/5000000" }
],
"Manifest-Checksum": "0a4386cd"}
`;
  assert.deepEqual(parseManifestWalRanges(tail), [
    { timeline: 2, startLsn: 0x5000000n, endLsn: 0x5000100n },
    { timeline: 1, startLsn: 0x4000028n, endLsn: 0x5000000n },
  ]);
  for (const bad of [
    '',
    '"WAL-Ranges": [',
    '"WAL-Ranges": []',
    '"WAL-Ranges": [{ "Timeline": 1 }]',
    '"WAL-Ranges": [{ "Timeline": 1, "Start-LSN": "x", "End-LSN": "0/1" }]',
  ]) {
    assert.throws(
      () => parseManifestWalRanges(bad),
      (e: unknown) => isLifeboatError(e, 'INTEGRITY'),
      bad,
    );
  }
});
