import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileWriter } from './file-writer.js';

const meta = {
  mode: 0o640,
  uid: process.getuid?.() ?? 0,
  gid: process.getgid?.() ?? 0,
  atime: '2021-03-04T05:06:07.123456789Z',
  mtime: '2020-01-02T03:04:05.987654321Z',
};

test('the writing thread creates files with their bytes, mode and times', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'lifeboat-writer-'));
  const w = new FileWriter();
  t.after(async () => {
    await w.close();
    await rm(dir, { recursive: true, force: true });
  });
  const whole = Buffer.from('whole buffer');
  const shared = Buffer.from('..a slice of a larger buffer..');
  await Promise.all([
    w.write(join(dir, 'a'), whole, meta, false),
    w.write(join(dir, 'b'), shared.subarray(2, 28), meta, false),
    w.write(join(dir, 'empty'), Buffer.alloc(0), meta, false),
  ]);
  // Before reading: a read may move the access time.
  const st = await stat(join(dir, 'a'), { bigint: true });
  assert.equal(Number(st.mode & 0o7777n), 0o640);
  // Microsecond precision (apply-metadata.ts).
  assert.equal(st.mtimeNs, 1577934245987654000n);
  assert.equal(st.atimeNs, 1614834367123456000n);
  assert.equal(await readFile(join(dir, 'a'), 'utf8'), 'whole buffer');
  assert.equal(await readFile(join(dir, 'b'), 'utf8'), 'a slice of a larger buffer');
  assert.equal((await readFile(join(dir, 'empty'))).length, 0);
});

test('an existing entry fails with EEXIST and is left alone; errors name their cause', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'lifeboat-writer-'));
  const w = new FileWriter();
  t.after(async () => {
    await w.close();
    await rm(dir, { recursive: true, force: true });
  });
  await writeFile(join(dir, 'x'), 'keep me');
  await assert.rejects(w.write(join(dir, 'x'), Buffer.from('new'), meta, false), {
    code: 'EEXIST',
  });
  assert.equal(await readFile(join(dir, 'x'), 'utf8'), 'keep me');
  await assert.rejects(w.write(join(dir, 'no', 'such'), Buffer.from('z'), meta, false), {
    code: 'ENOENT',
  });
  // The thread goes on after failures.
  await w.write(join(dir, 'y'), Buffer.from('fine'), meta, false);
  assert.equal(await readFile(join(dir, 'y'), 'utf8'), 'fine');
});
