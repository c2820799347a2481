import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cleanToolEnv, lastRecord, mustRun, timedPipeline } from './exec.js';

const sh = (script: string) => ({ file: '/bin/sh', args: ['-c', script], env: cleanToolEnv() });

test('timedPipeline connects the stages and reports both exit codes and peaks', async () => {
  const m = await timedPipeline(sh('head -c 300000 /dev/zero'), sh('wc -c; echo oops >&2; exit 3'));
  assert.equal(m.stdout.trim(), '300000');
  assert.deepEqual(m.exitCodes, [0, 3]);
  assert.match(m.stderr[1], /oops/);
  assert.ok(m.peakRssBytes[0] > 0 && m.peakRssBytes[1] > 0);
  assert.ok(m.wallMs > 0);
});

test('timedPipeline: the first stage ends when the second stops reading', async () => {
  const m = await timedPipeline(sh('yes'), sh('head -c 10 >/dev/null'));
  // yes dies of SIGPIPE (or exits 1 on EPIPE) instead of running forever.
  assert.notEqual(m.exitCodes[0], 0);
  assert.equal(m.exitCodes[1], 0);
});

test('cleanToolEnv drops client and repository variables', () => {
  process.env.PGPASSWORD = 'x';
  process.env.RESTIC_REPOSITORY = '/r';
  try {
    const env = cleanToolEnv({ A: '1' });
    assert.equal(env.PGPASSWORD, undefined);
    assert.equal(env.RESTIC_REPOSITORY, undefined);
    assert.equal(env.A, '1');
  } finally {
    delete process.env.PGPASSWORD;
    delete process.env.RESTIC_REPOSITORY;
  }
});

test('lastRecord finds the last matching NDJSON line among text', () => {
  const out = '{"type":"status"}\nnot json\n{"type":"summary","n":1}\n{"type":"status"}\n';
  assert.deepEqual(
    lastRecord(out, (r) => r.type === 'summary'),
    { type: 'summary', n: 1 },
  );
  assert.equal(
    lastRecord(out, (r) => r.type === 'error'),
    undefined,
  );
});

test('mustRun returns stdout, and throws with stderr on failure', async () => {
  assert.equal(await mustRun(sh('echo hi'), 'echo'), 'hi\n');
  await assert.rejects(
    mustRun(sh('echo bad >&2; exit 2'), 'thing'),
    /thing failed \(exit 2\): bad/,
  );
});
