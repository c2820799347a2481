import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { waitUntilPromoted, type StartedServer } from './server-control.js';

/**
 * The race the fault tests found: pg_control copied from a base backup says "in production"
 * and a hot standby answers pings long before replay ends. Until the server removes
 * recovery.signal, recovery is not over, whatever the other two say.
 */
test('waitUntilPromoted waits for recovery.signal to go, not only for "in production"', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'lifeboat-promote-'));
  try {
    const bin = join(dir, 'bin');
    const data = join(dir, 'data');
    await mkdir(bin);
    await mkdir(data);
    const fake = async (name: string, body: string) => {
      await writeFile(join(bin, name), `#!/bin/sh\n${body}\n`);
      await chmod(join(bin, name), 0o755);
    };
    await fake('pg_controldata', 'echo "Database cluster state:               in production"');
    await fake('pg_isready', 'exit 0');
    // "The postmaster" is this test process: alive for as long as the test runs.
    await writeFile(join(data, 'postmaster.pid'), `${String(process.pid)}\n${data}\n`);
    await writeFile(join(data, 'recovery.signal'), '');
    await writeFile(
      join(dir, 'log'),
      'LOG:  database system is ready to accept read-only connections\n',
    );
    const server: StartedServer = {
      dataDir: data,
      pid: process.pid,
      port: 5432,
      socketDir: dir,
      binDir: bin,
      logFile: join(dir, 'log'),
      logOffset: 0,
      osUser: undefined,
    };
    let done = false;
    const waiting = waitUntilPromoted(server, { pollMs: 20, timeoutMs: 10_000 }).then((f) => {
      done = true;
      return f;
    });
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(done, false, 'returned while recovery.signal was still there');
    await unlink(join(data, 'recovery.signal'));
    await waiting;
    assert.equal(done, true);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
