import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lifeboatTool, resticTool } from './tools.js';

const cfg = {
  lifeboatBin: '/p/bin/lifeboat.js',
  resticBin: '/usr/bin/restic',
  resticCacheDir: '/w/cache',
};

test('backup summaries of both tools parse into the same shape', () => {
  const lifeboat = lifeboatTool(cfg).parseBackupSummary(
    '{"type":"status","phase":"backup"}\n' +
      '{"type":"summary","command":"backup","filesNew":2,"filesChanged":1,"filesUnmodified":7,"bytesAdded":99}\n',
  );
  assert.deepEqual(lifeboat, { filesNew: 2, filesChanged: 1, filesUnmodified: 7, bytesAdded: 99 });
  const restic = resticTool(cfg).parseBackupSummary(
    'not json\n{"message_type":"summary","files_new":2,"files_changed":1,"files_unmodified":7,"data_added":99}',
  );
  assert.deepEqual(restic, lifeboat);
  assert.equal(resticTool(cfg).parseBackupSummary('{"message_type":"status"}'), undefined);
});

test('commands carry the password in the environment only, and restic its cache dir', () => {
  process.env.RESTIC_REPOSITORY = '/somewhere/else';
  try {
    const r = resticTool(cfg).backupStdin('/w/repo', '/w/db.sql', 'db.sql');
    assert.equal(r.file, '/usr/bin/restic');
    assert.deepEqual(r.args, [
      '-r',
      '/w/repo',
      '--json',
      '-q',
      'backup',
      '--stdin',
      '--stdin-filename',
      'db.sql',
    ]);
    assert.equal(r.stdinFile, '/w/db.sql');
    assert.equal(r.env.RESTIC_CACHE_DIR, '/w/cache');
    assert.equal(r.env.RESTIC_REPOSITORY, undefined);
    const l = lifeboatTool({ ...cfg, nodeFlags: () => ['--cpu-prof'] }).dump(
      '/w/repo',
      '/db.sql',
      '/w/out',
    );
    assert.equal(l.file, process.execPath);
    assert.deepEqual(l.args, [
      '--cpu-prof',
      '/p/bin/lifeboat.js',
      '-r',
      '/w/repo',
      '--json',
      '-q',
      'dump',
      'latest',
      '/db.sql',
    ]);
    assert.equal(l.stdoutFile, '/w/out');
    assert.ok(l.env.LIFEBOAT_PASSWORD);
    assert.ok(!l.args.includes(l.env.LIFEBOAT_PASSWORD));
  } finally {
    delete process.env.RESTIC_REPOSITORY;
  }
});
