import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseSegmentSizeSetting } from './identify-system.js';

test('wal_segment_size as SHOW prints it', () => {
  assert.equal(parseSegmentSizeSetting('16MB'), 16 * 1024 * 1024);
  assert.equal(parseSegmentSizeSetting('1GB\n'), 1024 ** 3);
  assert.equal(parseSegmentSizeSetting('1024kB'), 1024 * 1024);
  assert.throws(() => parseSegmentSizeSetting('16 MB'));
  assert.throws(() => parseSegmentSizeSetting('3MB'));
});
