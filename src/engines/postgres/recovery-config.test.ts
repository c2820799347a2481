import assert from 'node:assert/strict';
import { lstat, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { isLifeboatError } from '../../core/errors.js';
import {
  checkRecoveryTime,
  quoteConfValue,
  recoverySettings,
  renderAutoConf,
  writeRecoveryConfig,
  type RecoveryConfig,
  type RecoveryTarget,
} from './recovery-config.js';

const base: RecoveryConfig = {
  restoreCommand: 'cp /arch/%f %p',
  target: { kind: 'latest' },
  action: 'promote',
};

function invalid(fn: () => unknown): void {
  assert.throws(fn, (e: unknown) => isLifeboatError(e, 'INVALID_ARGUMENT'));
}

describe('recovery settings', () => {
  test('latest: every target cleared, archiving and sync standbys off, restore command set', () => {
    assert.deepEqual(recoverySettings(base), [
      ['archive_mode', 'off'],
      ['synchronous_standby_names', ''],
      ['recovery_end_command', ''],
      ['archive_cleanup_command', ''],
      ['restore_command', 'cp /arch/%f %p'],
      ['recovery_target', ''],
      ['recovery_target_lsn', ''],
      ['recovery_target_name', ''],
      ['recovery_target_time', ''],
      ['recovery_target_xid', ''],
      ['recovery_target_timeline', 'latest'],
      ['recovery_target_action', 'promote'],
    ]);
  });

  test('each target kind sets its one setting, after the others were cleared', () => {
    const cases: [RecoveryTarget, string, string][] = [
      [{ kind: 'immediate' }, 'recovery_target', 'immediate'],
      [
        { kind: 'time', time: '2024-05-01 12:00:00+02' },
        'recovery_target_time',
        '2024-05-01 12:00:00+02',
      ],
      [{ kind: 'lsn', lsn: '16/B374D848' }, 'recovery_target_lsn', '16/B374D848'],
      [{ kind: 'xid', xid: '4294967300' }, 'recovery_target_xid', '4294967300'],
      [{ kind: 'name', name: 'before drop ü' }, 'recovery_target_name', 'before drop ü'],
    ];
    for (const [target, key, value] of cases) {
      const s = recoverySettings({ ...base, target, inclusive: false, timeline: 3 });
      const targets = s.filter(
        ([k]) => k.startsWith('recovery_target') && !/inclusive|timeline|action/.test(k),
      );
      assert.equal(targets.length, 5);
      assert.deepEqual(targets.at(-1), [key, value]);
      assert.equal(targets.filter(([, v]) => v !== '').length, 1);
      assert.deepEqual(
        s.find(([k]) => k === 'recovery_target_inclusive'),
        ['recovery_target_inclusive', 'off'],
      );
      assert.deepEqual(
        s.find(([k]) => k === 'recovery_target_timeline'),
        ['recovery_target_timeline', '3'],
      );
    }
  });

  test('pausing at the target keeps hot_standby on (without it the server would shut down)', () => {
    const s = recoverySettings({ ...base, target: { kind: 'xid', xid: '1000' }, action: 'pause' });
    assert.deepEqual(s.slice(-2), [
      ['recovery_target_action', 'pause'],
      ['hot_standby', 'on'],
    ]);
    assert.equal(
      recoverySettings(base).find(([k]) => k === 'hot_standby'),
      undefined,
    );
  });

  test('server overrides', () => {
    const s = recoverySettings({
      ...base,
      port: 6543,
      listenAddresses: '127.0.0.1, ::1',
      socketDir: '/tmp/s',
    });
    assert.deepEqual(
      s.filter(([k]) => ['port', 'listen_addresses', 'unix_socket_directories'].includes(k)),
      [
        ['port', '6543'],
        ['listen_addresses', '127.0.0.1, ::1'],
        ['unix_socket_directories', '/tmp/s'],
      ],
    );
    assert.deepEqual(
      recoverySettings({ ...base, listenAddresses: '' }).find(([k]) => k === 'listen_addresses'),
      ['listen_addresses', ''],
    );
    invalid(() => recoverySettings({ ...base, port: 0 }));
    invalid(() => recoverySettings({ ...base, listenAddresses: "x' y" }));
    invalid(() => recoverySettings({ ...base, socketDir: 'relative' }));
    invalid(() => recoverySettings({ ...base, socketDir: '/a,/b' }));
  });

  test('rejects bad target values', () => {
    const bad: RecoveryTarget[] = [
      { kind: 'time', time: '2024-05-01 12:00:00' }, // no zone: would depend on the server's
      { kind: 'time', time: 'yesterday' },
      { kind: 'time', time: '2024-02-30 12:00:00Z' },
      { kind: 'time', time: '2024-05-01 24:00:00Z' },
      { kind: 'time', time: "2024-05-01 12:00:00Z'; x" },
      { kind: 'lsn', lsn: '0/0/0' },
      { kind: 'lsn', lsn: "0/1'" },
      { kind: 'xid', xid: '2' },
      { kind: 'xid', xid: '-5' },
      { kind: 'xid', xid: '18446744073709551616' },
      { kind: 'xid', xid: '12 ' },
      { kind: 'name', name: '' },
      { kind: 'name', name: "it's" },
      { kind: 'name', name: 'a"b' },
      { kind: 'name', name: 'a\\b' },
      { kind: 'name', name: 'a\nb' },
      { kind: 'name', name: 'x'.repeat(64) },
      { kind: 'name', name: 'ü'.repeat(32) }, // 64 bytes
    ];
    for (const target of bad) invalid(() => recoverySettings({ ...base, target }));
    invalid(() => recoverySettings({ ...base, timeline: 0 }));
    invalid(() => recoverySettings({ ...base, restoreCommand: ' ' }));
    invalid(() => recoverySettings({ ...base, restoreCommand: 'cp a b\nrm -rf /' }));
  });

  test('timestamps PostgreSQL accepts', () => {
    for (const t of [
      '2024-05-01 12:00:00+02',
      '2024-05-01T10:00:00Z',
      '2024-02-29 23:59:59.123456-05:30',
      '2024-05-01 12:00+0200',
    ]) {
      assert.equal(checkRecoveryTime(t), t);
    }
  });
});

describe('postgresql.auto.conf', () => {
  test('values are quoted for the config parser', () => {
    assert.equal(quoteConfValue("it's"), "'it''s'");
    assert.equal(quoteConfValue('a\\b'), "'a\\\\b'");
    assert.equal(quoteConfValue(''), "''");
  });

  test('earlier lines for our settings are replaced, others kept', () => {
    const existing = [
      '# Do not edit this file manually!',
      "work_mem = '8MB'",
      "recovery_target_time = '2020-01-01 00:00:00+00'",
      "Archive_Mode = 'on'",
      "primary_conninfo 'host=x'",
      '',
    ].join('\n');
    const out = renderAutoConf(existing, recoverySettings(base));
    assert.match(
      out,
      /^# Do not edit this file manually!\nwork_mem = '8MB'\nprimary_conninfo 'host=x'\n# Lifeboat/,
    );
    assert.doesNotMatch(out, /2020-01-01|'on'/);
    assert.equal(out.match(/^archive_mode = 'off'$/gm)?.length, 1);
    // Rendering twice gives the same file: no pile-up.
    assert.equal(renderAutoConf(out, recoverySettings(base)), out);
  });

  test('writeRecoveryConfig never reads or writes through a symbolic link', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lifeboat-recconf-'));
    const outside = await mkdtemp(join(tmpdir(), 'lifeboat-outside-'));
    try {
      const secret = join(outside, 'secret');
      await writeFile(secret, 'do not copy');
      await symlink(secret, join(dir, 'postgresql.auto.conf'));
      await assert.rejects(writeRecoveryConfig(dir, base), (e: unknown) =>
        isLifeboatError(e, 'INTEGRITY'),
      );
      await rm(join(dir, 'postgresql.auto.conf'));
      // Planted signal and temp files are replaced by files of our own.
      const victim = join(outside, 'victim');
      await writeFile(victim, 'keep me');
      await symlink(victim, join(dir, 'recovery.signal'));
      await symlink(victim, join(dir, 'postgresql.auto.conf.lifeboat-tmp'));
      await writeRecoveryConfig(dir, base);
      assert.equal(await readFile(victim, 'utf8'), 'keep me');
      assert.equal(await readFile(secret, 'utf8'), 'do not copy');
      assert.ok((await lstat(join(dir, 'recovery.signal'))).isFile());
      assert.match(await readFile(join(dir, 'postgresql.auto.conf'), 'utf8'), /restore_command/);
    } finally {
      await rm(dir, { recursive: true, force: true });
      await rm(outside, { recursive: true, force: true });
    }
  });

  test('writeRecoveryConfig writes the files and arms recovery', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lifeboat-recconf-'));
    try {
      await writeFile(join(dir, 'postgresql.auto.conf'), "work_mem = '8MB'\n");
      await writeFile(join(dir, 'standby.signal'), '');
      await writeRecoveryConfig(dir, {
        ...base,
        restoreCommand: "cp '/a b/%f' %p",
        target: { kind: 'name', name: 'x' },
      });
      const conf = await readFile(join(dir, 'postgresql.auto.conf'), 'utf8');
      assert.match(conf, /^restore_command = 'cp ''\/a b\/%f'' %p'$/m);
      assert.match(conf, /^recovery_target_name = 'x'$/m);
      assert.equal((await stat(join(dir, 'recovery.signal'))).size, 0);
      await assert.rejects(stat(join(dir, 'standby.signal')));
      assert.equal((await stat(join(dir, 'postgresql.auto.conf'))).mode & 0o777, 0o600);
      // A live postmaster.pid (our own pid) makes it refuse.
      await writeFile(join(dir, 'postmaster.pid'), `${process.pid}\n${dir}\n`);
      await assert.rejects(writeRecoveryConfig(dir, base), (e: unknown) =>
        isLifeboatError(e, 'TARGET_IN_USE'),
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
