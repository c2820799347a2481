import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  GO_MODE_CHAR_DEVICE,
  GO_MODE_DEVICE,
  GO_MODE_DIR,
  GO_MODE_IRREGULAR,
  GO_MODE_NAMED_PIPE,
  GO_MODE_SETGID,
  GO_MODE_SETUID,
  GO_MODE_SOCKET,
  GO_MODE_STICKY,
  GO_MODE_SYMLINK,
  goModeFromStat,
  nodeNameBytes,
  nodeTypeFromGoMode,
  unixPermFromGoMode,
} from './node.js';

test('Go FileMode bits are the values of Go os/types.go', () => {
  assert.equal(GO_MODE_DIR, 2147483648);
  assert.equal(GO_MODE_SYMLINK, 134217728);
  assert.equal(GO_MODE_DEVICE, 67108864);
  assert.equal(GO_MODE_NAMED_PIPE, 33554432);
  assert.equal(GO_MODE_SOCKET, 16777216);
  assert.equal(GO_MODE_SETUID, 8388608);
  assert.equal(GO_MODE_SETGID, 4194304);
  assert.equal(GO_MODE_CHAR_DEVICE, 2097152);
  assert.equal(GO_MODE_STICKY, 1048576);
  assert.equal(GO_MODE_IRREGULAR, 524288);
});

test('goModeFromStat matches what restic stores for each file type', () => {
  // Values as seen in restic 0.14 trees (the interop test checks them against real restic).
  const cases: [number, number, string][] = [
    [0o100644, 420, 'file'],
    [0o104755, 8389101, 'file'], // setuid
    [0o040755, 2147484141, 'dir'],
    [0o041777, 2148532735, 'dir'], // sticky
    [0o042775, 2151678461, 'dir'], // setgid
    [0o120777, 134218239, 'symlink'],
    [0o010644, 33554852, 'fifo'],
    [0o140755, 16777709, 'socket'],
    [0o060660, 67109296, 'dev'],
    [0o020666, 69206454, 'chardev'],
  ];
  for (const [stat, go, type] of cases) {
    assert.equal(goModeFromStat(stat), go, `st_mode ${stat.toString(8)}`);
    assert.equal(nodeTypeFromGoMode(go), type);
    assert.equal(unixPermFromGoMode(go), stat & 0o7777, `perm of ${stat.toString(8)}`);
  }
});

test('an unknown st_mode file type has no Go type bit, like Go', () => {
  assert.equal(goModeFromStat(0o170644), 420);
  assert.equal(nodeTypeFromGoMode(GO_MODE_IRREGULAR + 0o644), 'irregular');
});

test('unixPermFromGoMode keeps only permission and special bits', () => {
  assert.equal(unixPermFromGoMode(GO_MODE_DIR + GO_MODE_SETGID + GO_MODE_STICKY + 0o750), 0o3750);
  assert.equal(unixPermFromGoMode(GO_MODE_SYMLINK + 0o777), 0o777);
  assert.equal(unixPermFromGoMode(0), 0);
});

test('nodeNameBytes prefers rawName', () => {
  assert.deepEqual(nodeNameBytes({ name: 'é' }), Buffer.from([0xc3, 0xa9]));
  assert.deepEqual(
    nodeNameBytes({ name: 'a\ufffd', rawName: Buffer.from([0x61, 0xff]) }),
    Buffer.from([0x61, 0xff]),
  );
});
