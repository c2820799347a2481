import assert from 'node:assert/strict';
import { test } from 'node:test';
import { classifyRecoveryLog, recoveryFacts } from './recovery-log.js';

// Abridged from PostgreSQL 15 logs (lc_messages=C).
const BEYOND_END = `LOG:  starting point-in-time recovery to 2030-01-01 00:00:00+00
LOG:  restored log file "000000010000000000000002" from archive
LOG:  redo starts at 0/2000028
LOG:  restored log file "000000010000000000000004" from archive
cp: cannot stat '/arch/000000010000000000000005': No such file or directory
LOG:  consistent recovery state reached at 0/2000100
LOG:  redo done at 0/4000100 system usage: CPU: user: 0.00 s, system: 0.00 s, elapsed: 0.09 s
FATAL:  recovery ended before configured recovery target was reached
LOG:  startup process (PID 11311) exited with exit code 1
`;
const PROMOTED = `LOG:  restored log file "000000010000000000000003" from archive
LOG:  recovery stopping at restore point "before_drop", time 2026-11-22 00:20:01.5+00
LOG:  redo done at 0/3000190 system usage: CPU: user: 0.00 s, system: 0.00 s, elapsed: 0.02 s
LOG:  last completed transaction was at log time 2026-11-22 00:20:01.4+00
LOG:  selected new timeline ID: 2
LOG:  archive recovery complete
LOG:  database system is ready to accept connections
`;

test('recovery facts from a promoted server', () => {
  assert.deepEqual(recoveryFacts(PROMOTED), {
    timeline: 2,
    stoppedAt: 'recovery stopping at restore point "before_drop", time 2026-11-22 00:20:01.5+00',
    lastTransactionTime: '2026-11-22 00:20:01.4+00',
    lastRestoredSegment: '000000010000000000000003',
  });
  assert.deepEqual(recoveryFacts(''), {
    timeline: null,
    stoppedAt: null,
    lastTransactionTime: null,
    lastRestoredSegment: null,
  });
});

test('a target beyond the archive is WAL_GAP, naming how far replay got', () => {
  const e = classifyRecoveryLog(BEYOND_END, '/r');
  assert.equal(e.code, 'WAL_GAP');
  assert.match(e.message, /archived WAL ends before the recovery target/);
  assert.match(e.message, /0\/4000100/);
  assert.match(e.message, /000000010000000000000004/);
  assert.equal(e.details.redoDoneAt, '0/4000100');
});

test('other recovery failures', () => {
  const cases: [string, string][] = [
    ['FATAL:  WAL ends before end of online backup\n', 'WAL_GAP'],
    ['FATAL:  WAL ends before consistent recovery point\n', 'WAL_GAP'],
    [
      'LOG:  invalid checkpoint record\nFATAL:  could not locate required checkpoint record\n',
      'WAL_GAP',
    ],
    [
      'LOG:  recovery stopping after WAL location (LSN) "0/2000060"\nFATAL:  requested recovery stop point is before consistent recovery point\n',
      'INVALID_ARGUMENT',
    ],
    ['FATAL:  multiple recovery targets specified\n', 'TOOL_FAILED'],
    ['', 'TOOL_FAILED'],
  ];
  for (const [log, code] of cases) assert.equal(classifyRecoveryLog(log, '/r').code, code, log);
});
