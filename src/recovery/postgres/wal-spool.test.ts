import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { prepareWalSpool } from './wal-spool.js';

/** Runs the restore command as PostgreSQL would, with %f and %p filled in. */
function restore(
  command: string,
  file: string,
  dest: string,
): Promise<{ code: number; ms: number }> {
  const started = Date.now();
  const cmd = command.replace('%f', file).replace('%p', dest);
  return new Promise((resolve) => {
    spawn('/bin/sh', ['-c', cmd], { stdio: 'ignore' }).on('exit', (code) =>
      resolve({ code: code ?? -1, ms: Date.now() - started }),
    );
  });
}

test('restore_command waits for an expected file, fails fast for others and after a failure', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'lifeboat-spool-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const seg = '000000010000000000000003';
  const later = '000000010000000000000004';
  const spool = await prepareWalSpool(dir, [seg, later]);
  assert.equal(await spool.requested(), undefined);

  // Arrives 300 ms after PostgreSQL asked for it (by rename, as the fetcher writes).
  const waiting = restore(spool.restoreCommand, seg, join(dir, 'out-3'));
  await sleep(300);
  await writeFile(join(dir, `${seg}.tmp`), 'wal bytes');
  await rename(join(dir, `${seg}.tmp`), join(dir, seg));
  const got = await waiting;
  assert.equal(got.code, 0);
  assert.ok(got.ms >= 250, `waited ${String(got.ms)} ms`);
  assert.equal(await readFile(join(dir, 'out-3'), 'utf8'), 'wal bytes');
  // The fetch can see what the replay has reached.
  assert.equal(await spool.requested(), seg);

  // Not part of this restore (a timeline history probe): fails at once.
  const probe = await restore(spool.restoreCommand, '00000002.history', join(dir, 'out-h'));
  assert.equal(probe.code, 1);
  assert.ok(probe.ms < 2000);
  assert.equal(await spool.requested(), seg, 'a probe is not a request of this restore');

  // The fetch failed: a waiting call gives up.
  const stuck = restore(spool.restoreCommand, later, join(dir, 'out-4'));
  await sleep(100);
  await spool.fail();
  // Above 125: PostgreSQL stops instead of promoting what it has.
  assert.equal((await stuck).code, 126);
  assert.equal(await spool.requested(), later);
});
