import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { DedupRun } from './dedup.js';
import {
  dedupRows,
  renderDedup,
  RESULTS_DB_MARKER,
  summarizeSteps,
  writeDbResultsFile,
} from './report.js';
import type { DbSample } from './steps.js';

const MiB = 1048576;

function sample(tool: string, wallMs: number, extra: Partial<DbSample> = {}): DbSample {
  return {
    step: 'logical-restore',
    tool,
    rep: 0,
    position: 1,
    sourceBytes: 100 * MiB,
    wallMs,
    peakRssBytes: 10 * MiB,
    exitCode: 0,
    problems: [],
    ...extra,
  };
}

test('medians, ratios against the reference and verdicts against the 1.2 target', () => {
  const [t] = summarizeSteps([
    sample('pg_restore -j2', 10_000),
    sample('pg_restore -j2', 12_000, { rep: 1 }),
    sample('lifeboat', 11_000, { peakRssBytes: 40 * MiB }),
    sample('lifeboat', 13_000, { rep: 1, peakRssBytes: 40 * MiB }),
    sample('lifeboat --jobs 2', 20_000),
    sample('lifeboat --jobs 2', 30_000, { rep: 1, exitCode: 1, problems: ['exit 1'] }),
  ]);
  assert.ok(t);
  const row = (tool: string) => t.rows.find((r) => r.tool === tool)!;
  assert.equal(row('pg_restore -j2').wallMs, 11_000);
  assert.equal(row('pg_restore -j2').verdict, 'reference');
  assert.equal(row('lifeboat').timeRatio, 12_000 / 11_000);
  assert.equal(row('lifeboat').rssRatio, 4);
  assert.equal(row('lifeboat').pairedRatio, (11_000 / 10_000 + 13_000 / 12_000) / 2);
  assert.equal(row('lifeboat').verdict, 'ok');
  assert.equal(row('lifeboat').mibPerSec, 100 / 12);
  // The failed run is left out of the median and fails the row.
  assert.equal(row('lifeboat --jobs 2').wallMs, 20_000);
  assert.equal(row('lifeboat --jobs 2').verdict, 'FAILED');
  assert.deepEqual(t.problems, ['lifeboat --jobs 2 (rep 2): exit 1']);
});

test('a Lifeboat row over the target says by how much', () => {
  const [t] = summarizeSteps([
    sample('pg_dump | restic', 10_000, { step: 'logical-backup' }),
    sample('lifeboat', 15_000, { step: 'logical-backup' }),
    sample('pg_dump -Fc', 5_000, { step: 'logical-backup' }),
  ]);
  assert.equal(t!.rows.find((r) => r.tool === 'lifeboat')!.verdict, 'missed: 1.50× > 1.0×');
  assert.equal(t!.rows.find((r) => r.tool === 'pg_dump -Fc')!.verdict, 'peer');
});

test('the verdict takes the worse of the ratio of medians and the paired ratio', () => {
  // Medians 10 / 10 look even, but in each repetition Lifeboat took 1.5x the reference.
  const [t] = summarizeSteps([
    sample('pg_restore -j2', 6_000, { rep: 0 }),
    sample('pg_restore -j2', 10_000, { rep: 1 }),
    sample('pg_restore -j2', 14_000, { rep: 2 }),
    sample('lifeboat', 9_000, { rep: 0 }),
    sample('lifeboat', 10_000, { rep: 1 }),
    sample('lifeboat', 21_000, { rep: 2 }),
  ]);
  const row = t!.rows.find((r) => r.tool === 'lifeboat')!;
  assert.equal(row.timeRatio, 1);
  assert.equal(row.pairedRatio, 1.5);
  assert.equal(row.verdict, 'missed: 1.50× > 1.2×');
});

test('dedup ratios divide by the first backup of the same test and tool', () => {
  const run = (tool: 'lifeboat' | 'restic', backup: number, added: number): DedupRun => ({
    test: 'events',
    tool,
    backup,
    label: `#${String(backup)}`,
    wallMs: 1000,
    bytesProcessed: 100,
    bytesAdded: added,
    ...(tool === 'lifeboat' ? { bytesStored: added / 2 } : {}),
    repoBytes: 1,
    problems: [],
  });
  const runs = [
    run('lifeboat', 1, 200),
    run('restic', 1, 400),
    run('lifeboat', 2, 20),
    run('restic', 2, 100),
  ];
  const rows = dedupRows(runs);
  assert.deepEqual(
    rows.map((r) => [r.tool, r.ratio]),
    [
      ['lifeboat', 1],
      ['restic', 1],
      ['lifeboat', 0.1],
      ['restic', 0.25],
    ],
  );
  assert.equal(rows[2]!.storedRatio, 0.1);
  const md = renderDedup(runs, {
    eventsRows: 10,
    eventsAppended: 1,
    eventsUpdated: 1,
    eventsTableBytes: MiB,
    pgbenchSeconds: 1,
    pgbenchTransactions: 5,
  });
  assert.match(md, /\| events \| lifeboat \| #2 \| .* \| 10\.0% \| .* ok \(≤ 15\.0%\) \|/);
});

test('the results file keeps the hand-written part above the marker', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-db-report-'));
  try {
    const file = join(dir, 'R.md');
    writeDbResultsFile(file, 'first\n');
    assert.match(readFileSync(file, 'utf8'), /^# Lifeboat database benchmark results/);
    writeFileSync(file, `# mine\nanalysis\n${RESULTS_DB_MARKER}\n\nold table\n`);
    writeDbResultsFile(file, 'new table\n');
    assert.equal(
      readFileSync(file, 'utf8'),
      `# mine\nanalysis\n${RESULTS_DB_MARKER}\n\nnew table\n`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
