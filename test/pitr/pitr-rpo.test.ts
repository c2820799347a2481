/**
 * Measured RPO (issue 3): under continuous writes the primary is killed with SIGKILL; a
 * restore to latest must lose at most ~1 s of acknowledged commits when WAL is streamed
 * (`lifeboat wal stream`), and at most about `archive_timeout` with archive_command. Each test
 * prints the loss it measured.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { sharedLifeboatBin } from '../support/runtime-copy.js';
import { pitrSetup, type PitrSetup } from './pitr-fixture.js';
import { measureLoss, startWorkload, type Workload } from './workload.js';

async function restoreAndMeasure(s: PitrSetup, w: Workload, label: string) {
  const { result, spot } = await s.restore([]);
  await using _spot = spot;
  assert.equal(result.code, 0, `restore failed:\n${result.stderr}\n${result.stdout}`);
  const max = Number(await spot.psql('SELECT coalesce(max(n), 0) FROM rpo'));
  const count = Number(await spot.psql('SELECT count(*) FROM rpo'));
  assert.equal(count, max, 'the restored rows are a gapless prefix of the commits');
  const loss = measureLoss(w.acked, max);
  console.log(
    `${label}: ${String(loss.ackedRows)} commits acknowledged, ${String(max)} restored, ${String(loss.lostRows)} lost; measured loss ${String(loss.lostMs)} ms`,
  );
  assert.ok(max > 0, 'some rows were restored');
  return loss;
}

test(
  'streaming mode: a SIGKILLed primary loses at most ~1 s of commits',
  { timeout: 300_000 },
  async () => {
    await using s = await pitrSetup({ archive: false });
    const follower = spawn(
      process.execPath,
      [sharedLifeboatBin(), '--json', 'wal', 'stream', 'db', '--interval', '500'],
      {
        env: { ...process.env, LIFEBOAT_PLAN: s.plan },
        uid: s.pg.osUser.uid,
        gid: s.pg.osUser.gid,
        cwd: s.dir,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    follower.stdout.on('data', (b: Buffer) => (out += b.toString()));
    follower.stderr.on('data', (b: Buffer) => (out += b.toString()));
    const exited = new Promise<number | null>((r) => follower.once('exit', (c) => r(c)));
    let w: Workload | undefined;
    try {
      for (let i = 0; i < 100 && !out.includes('"state":"started"'); i++) await sleep(100);
      assert.match(out, /"state":"started"/, `the follower did not start:\n${out}`);
      await s.ok(['backup', 'db']);
      w = await startWorkload(s.pg);
      await sleep(4000);
      await s.pg.kill();
      await w.stop();
      // The follower stores what pg_receivewal had flushed within one interval.
      await sleep(1500);
    } finally {
      follower.kill('SIGTERM');
    }
    assert.equal(await exited, 0, `the follower did not stop cleanly:\n${out}`);
    const loss = await restoreAndMeasure(s, w, 'streaming mode');
    assert.ok(loss.lostMs <= 1000, `lost ${String(loss.lostMs)} ms of commits, more than ~1 s`);
  },
);

test(
  'archive_command mode: a SIGKILLed primary loses at most about archive_timeout',
  { timeout: 300_000 },
  async () => {
    const archiveTimeoutS = 2;
    await using s = await pitrSetup({
      archive: true,
      conf: { archive_timeout: `${String(archiveTimeoutS)}s` },
    });
    await s.ok(['backup', 'db']);
    const w = await startWorkload(s.pg);
    await sleep(6000);
    await s.pg.kill();
    await w.stop();
    const loss = await restoreAndMeasure(
      s,
      w,
      `archive mode (archive_timeout ${String(archiveTimeoutS)} s)`,
    );
    // A segment switched at the timeout is only safe once `wal push` stored it: allow that push.
    assert.ok(
      loss.lostMs <= archiveTimeoutS * 1000 + 1500,
      `lost ${String(loss.lostMs)} ms of commits, more than archive_timeout plus one push`,
    );
  },
);
