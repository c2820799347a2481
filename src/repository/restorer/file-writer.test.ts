import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isLifeboatError } from '../../core/errors.js';
import type { BlobLocation } from '../blob.js';
import { MasterKey } from '../crypto/master-key.js';
import { sealBlob } from '../pack/seal.js';
import { FileWriter } from './file-writer.js';

const meta = {
  mode: 0o640,
  uid: process.getuid?.() ?? 0,
  gid: process.getgid?.() ?? 0,
  atime: '2021-03-04T05:06:07.123456789Z',
  mtime: '2020-01-02T03:04:05.987654321Z',
};

const key = MasterKey.generate();

/** Seals each plaintext as a pack would hold it, with `gap` bytes between blobs. */
function packed(
  plain: Buffer[],
  gap = 7,
): { raw: Buffer; blobs: { loc: BlobLocation; at: number }[] } {
  const parts: Buffer[] = [];
  const blobs: { loc: BlobLocation; at: number }[] = [];
  let at = 0;
  for (const p of plain) {
    const { sealed, uncompressed } = sealBlob(key, 'data', p, 'auto');
    const id = createHash('sha256').update(p).digest('hex');
    const loc: BlobLocation = {
      id,
      type: 'data',
      packId: 'ab'.repeat(32),
      offset: 1000 + at,
      length: sealed.length,
    };
    if (uncompressed !== undefined) loc.uncompressedLength = uncompressed;
    blobs.push({ loc, at });
    parts.push(sealed, Buffer.alloc(gap));
    at += sealed.length + gap;
  }
  return { raw: Buffer.concat(parts), blobs };
}

test('writing threads open each blob and create its file with bytes, mode and times', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'lifeboat-writer-'));
  const w = new FileWriter(key);
  t.after(async () => {
    await w.close();
    await rm(dir, { recursive: true, force: true });
  });
  const text = Buffer.from('compressible line\n'.repeat(500));
  const bytes = randomBytes(3000);
  const { raw, blobs } = packed([text, bytes]);
  const sizes = await Promise.all([
    ...w.writeBatch(raw, [
      { path: join(dir, 'a'), meta, owner: false, blob: blobs[0]! },
      { path: join(dir, 'b'), meta, owner: false, blob: blobs[1]! },
    ]),
    ...w.writeBatch(undefined, [{ path: join(dir, 'empty'), meta, owner: false }]),
  ]);
  assert.deepEqual(sizes, [text.length, bytes.length, 0]);
  // The second batch went to a second thread, as the first was busy.
  assert.equal(w.started, 2);
  // Before reading: a read may move the access time.
  const st = await stat(join(dir, 'a'), { bigint: true });
  assert.equal(Number(st.mode & 0o7777n), 0o640);
  // Microsecond precision (apply-metadata.ts).
  assert.equal(st.mtimeNs, 1577934245987654000n);
  assert.equal(st.atimeNs, 1614834367123456000n);
  assert.deepEqual(await readFile(join(dir, 'a')), text);
  assert.deepEqual(await readFile(join(dir, 'b')), bytes);
  assert.equal((await readFile(join(dir, 'empty'))).length, 0);
});

test('a damaged blob fails INTEGRITY naming blob and pack, and leaves no file', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'lifeboat-writer-'));
  const w = new FileWriter(key, 1);
  t.after(async () => {
    await w.close();
    await rm(dir, { recursive: true, force: true });
  });
  const { raw, blobs } = packed([randomBytes(500), randomBytes(600)]);
  raw[blobs[0]!.at + 100]! ^= 1;
  const [bad, good] = w.writeBatch(raw, [
    { path: join(dir, 'bad'), meta, owner: false, blob: blobs[0]! },
    { path: join(dir, 'good'), meta, owner: false, blob: blobs[1]! },
  ]);
  await assert.rejects(
    bad!,
    (e: unknown) =>
      isLifeboatError(e, 'INTEGRITY') &&
      e.message.includes(blobs[0]!.loc.id) &&
      e.message.includes(blobs[0]!.loc.packId),
  );
  assert.equal(await good, 600);
  assert.deepEqual(await readdir(dir), ['good']);
  // A blob whose index entry lies about its id is refused too.
  const { raw: raw2, blobs: b2 } = packed([randomBytes(100)]);
  const lying = { loc: { ...b2[0]!.loc, id: 'cd'.repeat(32) }, at: 0 };
  const [p] = w.writeBatch(raw2, [{ path: join(dir, 'lie'), meta, owner: false, blob: lying }]);
  await assert.rejects(
    p!,
    (e: unknown) => isLifeboatError(e, 'INTEGRITY') && /does not match its id/.test(e.message),
  );
});

test('an existing entry fails with EEXIST and is left alone; errors name their cause', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'lifeboat-writer-'));
  const w = new FileWriter(key);
  t.after(async () => {
    await w.close();
    await rm(dir, { recursive: true, force: true });
  });
  await writeFile(join(dir, 'x'), 'keep me');
  const { raw, blobs } = packed([Buffer.from('new'), Buffer.from('z'), Buffer.from('fine')]);
  const [x, z, y] = w.writeBatch(raw, [
    { path: join(dir, 'x'), meta, owner: false, blob: blobs[0]! },
    { path: join(dir, 'no', 'such'), meta, owner: false, blob: blobs[1]! },
    { path: join(dir, 'y'), meta, owner: false, blob: blobs[2]! },
  ]);
  // The thread goes on after failures.
  await Promise.all([
    assert.rejects(x!, { code: 'EEXIST' }),
    assert.rejects(z!, { code: 'ENOENT' }),
    y,
  ]);
  assert.equal(await readFile(join(dir, 'x'), 'utf8'), 'keep me');
  assert.equal(await readFile(join(dir, 'y'), 'utf8'), 'fine');
});
