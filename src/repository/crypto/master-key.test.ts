import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv, randomBytes } from 'node:crypto';
import { isLifeboatError } from '../../core/errors.js';
import { CIPHERTEXT_OVERHEAD, MasterKey, PLAINTEXT_OFFSET } from './master-key.js';

function assertIntegrity(fn: () => unknown): void {
  assert.throws(fn, (err: unknown) => isLifeboatError(err, 'INTEGRITY'));
}

test('encrypt/decrypt round trip for several sizes', () => {
  const key = MasterKey.generate();
  for (const size of [0, 1, 15, 16, 17, 1000, 65536 + 3, 3 * 65536 + 5]) {
    const plaintext = randomBytes(size);
    const sealed = key.encrypt(plaintext);
    assert.equal(sealed.length, size + CIPHERTEXT_OVERHEAD);
    assert.deepEqual(key.decrypt(sealed), plaintext);
  }
});

test('each encryption uses a fresh non-zero IV', () => {
  const key = MasterKey.generate();
  const a = key.encrypt(Buffer.from('same'));
  const b = key.encrypt(Buffer.from('same'));
  assert.notDeepEqual(a.subarray(0, 16), b.subarray(0, 16));
  assert.notDeepEqual(a.subarray(0, 16), Buffer.alloc(16));
});

test('the layout is IV ‖ AES-256-CTR(IV as counter) ‖ MAC', () => {
  const key = MasterKey.generate();
  const plaintext = randomBytes(100);
  const sealed = key.encrypt(plaintext);
  const iv = sealed.subarray(0, 16);
  const aes = Buffer.from(key.toJSON().encrypt, 'base64');
  const expected = createCipheriv('aes-256-ctr', aes, iv).update(plaintext);
  assert.deepEqual(sealed.subarray(16, 116), expected);
});

test('encryptInPlace seals a plaintext where it lies, even in shared memory, in one piece as in many', () => {
  const key = MasterKey.generate();
  const plaintext = randomBytes(200 * 1024 + 7);
  const ring = Buffer.from(new SharedArrayBuffer(plaintext.length + 100));
  const at = ring.subarray(40);
  plaintext.copy(at, PLAINTEXT_OFFSET);
  const n = key.encryptInPlace(at, plaintext.length);
  assert.equal(n, plaintext.length + CIPHERTEXT_OVERHEAD);
  const sealed = at.subarray(0, n);
  const aes = Buffer.from(key.toJSON().encrypt, 'base64');
  const whole = createCipheriv('aes-256-ctr', aes, sealed.subarray(0, 16)).update(plaintext);
  assert.deepEqual(sealed.subarray(16, 16 + plaintext.length), whole);
  assert.deepEqual(key.decrypt(sealed), plaintext);
  assert.throws(() => key.encryptInPlace(Buffer.alloc(40), 9), /room/);
});

test('a flipped bit anywhere fails with INTEGRITY', () => {
  const key = MasterKey.generate();
  const sealed = key.encrypt(randomBytes(40));
  for (let byte = 0; byte < sealed.length; byte++) {
    const damaged = Buffer.from(sealed);
    damaged[byte] = damaged[byte]! ^ (1 << (byte % 8));
    assertIntegrity(() => key.decrypt(damaged));
  }
});

test('a different key fails with INTEGRITY', () => {
  const sealed = MasterKey.generate().encrypt(Buffer.from('secret'));
  assertIntegrity(() => MasterKey.generate().decrypt(sealed));
});

test('input shorter than IV + MAC fails with INTEGRITY', () => {
  const key = MasterKey.generate();
  assertIntegrity(() => key.decrypt(Buffer.alloc(0)));
  assertIntegrity(() => key.decrypt(Buffer.alloc(CIPHERTEXT_OVERHEAD - 1)));
  // Exactly the overhead is a valid encryption of nothing, so only the MAC can reject it.
  assertIntegrity(() => key.decrypt(Buffer.alloc(CIPHERTEXT_OVERHEAD, 1)));
});

test('decrypt accepts a view into a larger buffer', () => {
  const key = MasterKey.generate();
  const sealed = key.encrypt(Buffer.from('inside a pack'));
  const pack = Buffer.concat([randomBytes(7), sealed, randomBytes(5)]);
  const view = pack.subarray(7, 7 + sealed.length);
  assert.equal(key.decrypt(view).toString(), 'inside a pack');
});

test('master key JSON round trip keeps the key', () => {
  const key = MasterKey.generate();
  const json = JSON.parse(JSON.stringify(key.toJSON())) as unknown;
  const again = MasterKey.fromJSON(json);
  assert.deepEqual(again.toJSON(), key.toJSON());
  assert.equal(again.decrypt(key.encrypt(Buffer.from('x'))).toString(), 'x');
  const j = key.toJSON();
  assert.equal(Buffer.from(j.encrypt, 'base64').length, 32);
  assert.equal(Buffer.from(j.mac.k, 'base64').length, 16);
  assert.equal(Buffer.from(j.mac.r, 'base64').length, 16);
});

test('generated r is clamped as restic stores it', () => {
  const r = Buffer.from(MasterKey.generate().toJSON().mac.r, 'base64');
  for (const i of [3, 7, 11, 15]) assert.equal(r[i]! & 0xf0, 0);
  for (const i of [4, 8, 12]) assert.equal(r[i]! & 0x03, 0);
});

test('fromJSON rejects malformed keys with INTEGRITY', () => {
  const good = MasterKey.generate().toJSON();
  const b64 = (n: number): string => randomBytes(n).toString('base64');
  const bad: unknown[] = [
    null,
    'key',
    [],
    {},
    { ...good, encrypt: b64(31) },
    { ...good, encrypt: 'not base64!' },
    { ...good, encrypt: Buffer.alloc(32).toString('base64') },
    { ...good, mac: { k: b64(16) } },
    { ...good, mac: { k: b64(15), r: b64(16) } },
    { ...good, mac: { k: b64(16), r: b64(17) } },
    { ...good, mac: 'x' },
  ];
  for (const v of bad) assertIntegrity(() => MasterKey.fromJSON(v));
});

test("MAC is Poly1305-AES: the first vector of Bernstein's paper verifies", () => {
  // k, r, nonce, message and tag from "The Poly1305-AES message-authentication code",
  // appendix B; restic's own tests use the same vectors.
  const hex = (s: string): Buffer => Buffer.from(s.replace(/ /g, ''), 'hex');
  const key = MasterKey.fromJSON({
    mac: {
      k: hex('ec074c835580741701425b623235add6').toString('base64'),
      r: hex('851fc40c3467ac0be05cc20404f3f700').toString('base64'),
    },
    encrypt: randomBytes(32).toString('base64'),
  });
  const nonce = hex('fb447350c4e868c52ac3275cf9d4327e');
  const message = hex('f3f6');
  const tag = hex('f4c633c3044fc145f84f335cb81953de');
  assert.equal(key.decrypt(Buffer.concat([nonce, message, tag])).length, 2);
  tag[0] = tag[0]! ^ 1;
  assertIntegrity(() => key.decrypt(Buffer.concat([nonce, message, tag])));
});
