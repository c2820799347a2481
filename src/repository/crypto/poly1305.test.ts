import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isLifeboatError } from '../../core/errors.js';
import { loadBinding, POLY1305_BINDING, poly1305, poly1305Verify } from './poly1305.js';

// RFC 8439, section 2.5.2.
const KEY = Buffer.from('85d6be7857556d337f4452fe42d506a80103808afb0db2fd4abff6af4149f51b', 'hex');
const MESSAGE = Buffer.from('Cryptographic Forum Research Group');
const TAG = Buffer.from('a8061dc1305136c6c22b8baf0c0127a9', 'hex');

test('poly1305 gives the RFC 8439 tag and verifies it', () => {
  const tag = Buffer.alloc(16);
  poly1305(tag, MESSAGE, KEY);
  assert.deepEqual(tag, TAG);
  assert.equal(poly1305Verify(TAG, MESSAGE, KEY), true);
});

function flipped(buf: Buffer, at: number, mask: number): Buffer {
  const copy = Buffer.from(buf);
  copy.writeUInt8(copy.readUInt8(at) ^ mask, at);
  return copy;
}

test('poly1305Verify refuses a changed message, tag or key', () => {
  assert.equal(poly1305Verify(TAG, flipped(MESSAGE, 3, 1), KEY), false);
  assert.equal(poly1305Verify(flipped(TAG, 15, 0x80), MESSAGE, KEY), false);
  assert.equal(poly1305Verify(TAG, MESSAGE, flipped(KEY, 31, 1)), false);
});

test('wrong buffer sizes are an error, not an abort in the binding', () => {
  const internal = (err: unknown) => isLifeboatError(err, 'INTERNAL');
  assert.throws(() => poly1305(Buffer.alloc(15), MESSAGE, KEY), internal);
  assert.throws(() => poly1305(Buffer.alloc(16), MESSAGE, KEY.subarray(1)), internal);
  assert.throws(() => poly1305Verify(TAG.subarray(1), MESSAGE, KEY), internal);
});

test('on linux-x64 the prebuilt binding is loaded directly, not through the package loader', (t) => {
  if (`${process.platform}-${process.arch}` !== 'linux-x64') {
    t.skip('only linux-x64 is checked');
    return;
  }
  assert.equal(POLY1305_BINDING, 'prebuilt');
});

test('both ways of loading the binding give the same tags and verdicts', () => {
  for (const want of ['prebuilt', 'package'] as const) {
    const { binding, source } = loadBinding(want);
    if (want === 'package') assert.equal(source, 'package');
    const tag = Buffer.alloc(16);
    assert.equal(binding.crypto_onetimeauth(tag, MESSAGE, KEY), 0, `${source}: status`);
    assert.deepEqual(tag, TAG, `${source}: tag`);
    assert.equal(binding.crypto_onetimeauth_verify(TAG, MESSAGE, KEY), true, source);
    assert.equal(binding.crypto_onetimeauth_verify(flipped(TAG, 0, 1), MESSAGE, KEY), false);
  }
});
