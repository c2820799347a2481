import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  median,
  renderSummaryTable,
  RESULTS_MARKER,
  summarize,
  writeResultsFile,
} from './report.js';
import type { Sample, StepId } from './suite.js';
import type { ToolName } from './tools.js';

const MiB = 1048576;

function sample(
  step: StepId,
  tool: ToolName,
  wallMs: number,
  rssMiB: number,
  problems: string[] = [],
): Sample {
  return {
    step,
    tool,
    rep: 0,
    pair: 0,
    position: 1,
    wallMs,
    peakRssBytes: rssMiB * MiB,
    exitCode: problems.length ? 1 : 0,
    sourceBytes: 100 * MiB,
    repoBytes: 80 * MiB,
    problems,
  };
}

test('median of odd and even counts', () => {
  assert.equal(median([5, 1, 3]), 3);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.ok(Number.isNaN(median([])));
});

test('summaries give medians, ratios and verdicts against the issue 2 targets', () => {
  const s = summarize([
    sample('tree-backup', 'lifeboat', 1000, 100),
    sample('tree-backup', 'lifeboat', 3000, 120),
    sample('tree-backup', 'lifeboat', 1200, 110),
    sample('tree-backup', 'restic', 1000, 100),
    sample('tree-restore', 'lifeboat', 500, 200),
    sample('tree-restore', 'restic', 1000, 100),
    sample('tree-check', 'lifeboat', 2000, 100),
    sample('tree-check', 'restic', 1000, 100),
    sample('stream-dump', 'lifeboat', 500, 100, ['exit 1: boom']),
    sample('stream-dump', 'restic', 1000, 100),
    { ...sample('startup', 'lifeboat', 90, 50), sourceBytes: 0 },
    { ...sample('startup', 'restic', 10, 15), sourceBytes: 0 },
  ]);
  assert.deepEqual(
    s.map((x) => x.step),
    ['startup', 'tree-backup', 'tree-restore', 'tree-check', 'stream-dump'],
  );
  const [startup, backup, restore, check, dump] = s;
  assert.equal(startup!.verdict, 'reference', 'start-up has no targets');
  assert.ok(Number.isNaN(startup!.tools.restic!.mibPerSec));
  assert.equal(backup!.tools.lifeboat!.wallMs, 1200);
  assert.equal(backup!.tools.lifeboat!.mibPerSec, 100 / 1.2);
  assert.ok(Math.abs(backup!.timeRatio! - 1.2) < 1e-9);
  assert.equal(backup!.verdict, 'missed: time +20%');
  assert.equal(restore!.verdict, 'missed: RSS 2.00x');
  assert.equal(check!.verdict, 'ok', 'check has no time target');
  assert.equal(dump!.verdict, 'FAILED');
  assert.deepEqual(dump!.problems, ['lifeboat, rep 1: exit 1: boom']);
  const table = renderSummaryTable(s);
  assert.match(
    table,
    /\| tree \| first backup \| 1\.20 \/ 1\.00 \| 83\.3 \/ 100\.0 \| 110 \/ 100 \|/,
  );
});

test('writeResultsFile keeps the header above the marker and replaces the rest', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bench-report-'));
  try {
    const file = join(dir, 'RESULTS.md');
    writeResultsFile(file, 'first body\n');
    const first = readFileSync(file, 'utf8');
    assert.ok(first.includes(RESULTS_MARKER) && first.endsWith('first body\n'));
    writeFileSync(file, first.replace('# Lifeboat benchmark results', '# Edited header'));
    writeResultsFile(file, 'second body\n');
    const second = readFileSync(file, 'utf8');
    assert.ok(second.startsWith('# Edited header'));
    assert.ok(second.endsWith('second body\n') && !second.includes('first body'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
