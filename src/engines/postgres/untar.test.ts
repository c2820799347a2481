import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  readlink,
  rm,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { isLifeboatError } from '../../core/errors.js';
import { memberParts, untar } from './untar.js';

let root = '';
let n = 0;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'lifeboat-untar-'));
});
after(async () => rm(root, { recursive: true, force: true }));

async function freshDir(): Promise<string> {
  const d = join(root, `t${String(n++)}`);
  await mkdir(d);
  return d;
}

/** One ustar header block (PostgreSQL's layout), checksum included. */
function header(
  name: string,
  type: string,
  size: number,
  opts: { linkname?: string; mode?: number; prefix?: string; base256?: boolean } = {},
): Buffer {
  const h = Buffer.alloc(512);
  h.write(name, 0, 100, 'utf8');
  h.write(`${(opts.mode ?? 0o600).toString(8).padStart(7, '0')}\0`, 100, 'latin1');
  h.write('0000000\0', 108, 'latin1');
  h.write('0000000\0', 116, 'latin1');
  if (opts.base256) {
    h[124] = 0x80;
    h.writeUIntBE(size, 124 + 12 - 6, 6);
  } else {
    h.write(`${size.toString(8).padStart(11, '0')}\0`, 124, 'latin1');
  }
  h.write('00000000000\0', 136, 'latin1');
  h.write(type, 156, 'latin1');
  if (opts.linkname) h.write(opts.linkname, 157, 100, 'utf8');
  h.write('ustar\x0000', 257, 'latin1');
  if (opts.prefix) h.write(opts.prefix, 345, 155, 'utf8');
  h.fill(32, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return h;
}

function member(name: string, data: Buffer | string, type = '0', opts = {}): Buffer {
  const body = Buffer.from(data);
  const pad = Buffer.alloc((512 - (body.length % 512)) % 512);
  return Buffer.concat([header(name, type, body.length, opts), body, pad]);
}

const END = Buffer.alloc(1024);

async function* chunks(data: Buffer, size = 1000): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < data.length; i += size) {
    await Promise.resolve();
    yield data.subarray(i, i + size);
  }
}

function integrity(message: RegExp) {
  return (e: unknown) => isLifeboatError(e, 'INTEGRITY') && message.test(e.message);
}

test('what GNU tar writes comes out byte for byte, in chunks of any size', async () => {
  const src = await freshDir();
  await mkdir(join(src, 'base', '16384'), { recursive: true });
  const big = randomBytes(3 * 1024 * 1024 + 17);
  await writeFile(join(src, 'base', '16384', '2619'), big);
  await writeFile(join(src, 'PG_VERSION'), '15\n');
  await writeFile(join(src, 'empty'), '');
  const long = `${'d'.repeat(80)}/${'f'.repeat(90)}`; // ustar prefix or a GNU long name
  await mkdir(join(src, 'd'.repeat(80)));
  await writeFile(join(src, long), 'long');
  await mkdir(join(src, 'pg_tblspc'));
  await symlink('/var/lib/postgresql/tblspc', join(src, 'pg_tblspc', '16385'));
  for (const format of ['gnu', 'ustar', 'pax']) {
    const r = spawnSync('tar', ['-c', '-f', '-', `--format=${format}`, '-C', src, '.'], {
      maxBuffer: 64 << 20,
    });
    assert.equal(r.status, 0, String(r.stderr));
    for (const size of [511, 512, 65536, 1 << 20]) {
      const dir = await freshDir();
      const stats = await untar(chunks(r.stdout, size), dir);
      assert.equal(stats.files, 4);
      assert.equal(stats.links, 1);
      assert.equal(stats.bytes, big.length + 3 + 4);
      assert.deepEqual(await readFile(join(dir, 'base', '16384', '2619')), big);
      assert.equal(await readFile(join(dir, 'PG_VERSION'), 'utf8'), '15\n');
      assert.equal(await readFile(join(dir, long), 'utf8'), 'long');
      assert.equal((await readFile(join(dir, 'empty'))).length, 0);
      assert.equal(await readlink(join(dir, 'pg_tblspc', '16385')), '/var/lib/postgresql/tblspc');
    }
  }
});

test('chunks that the producer reuses are written before they are overwritten', async () => {
  const data = randomBytes(5 * 1024 * 1024);
  const archive = Buffer.concat([member('f', data), END]);
  // A producer with 3 buffers in turn, each overwritten when its turn comes again.
  async function* reused(): AsyncGenerator<Uint8Array> {
    const bufs = [Buffer.alloc(4096), Buffer.alloc(4096), Buffer.alloc(4096)];
    let turn = 0;
    for (let i = 0; i < archive.length; i += 4096) {
      const b = bufs[turn++ % 3]!;
      const n = archive.copy(b, 0, i, i + 4096);
      await Promise.resolve();
      yield b.subarray(0, n);
    }
  }
  const dir = await freshDir();
  await untar(reused(), dir, { reuseAfter: 3 });
  assert.deepEqual(await readFile(join(dir, 'f')), data);
});

test('base-256 sizes and the ustar prefix are read', async () => {
  const dir = await freshDir();
  const archive = Buffer.concat([
    member('x', 'hello', '0', { base256: true }),
    member('file', 'in prefix', '0', { prefix: 'a/b' }),
    END,
  ]);
  await untar(chunks(archive), dir);
  assert.equal(await readFile(join(dir, 'x'), 'utf8'), 'hello');
  assert.equal(await readFile(join(dir, 'a', 'b', 'file'), 'utf8'), 'in prefix');
});

test('names that climb out, absolute names and NUL bytes are refused', async () => {
  assert.deepEqual(memberParts('./base/1/./2'), ['base', '1', '2']);
  for (const name of ['../x', 'a/../../x', '/etc/passwd', 'a/..']) {
    const dir = await freshDir();
    await assert.rejects(
      untar(chunks(Buffer.concat([member(name, 'x'), END])), dir),
      integrity(/climbs out|absolute/),
    );
    assert.deepEqual(await readdir(dir), []);
  }
  const prefixed = Buffer.concat([member('x', 'x', '0', { prefix: '/etc' }), END]);
  await assert.rejects(untar(chunks(prefixed), await freshDir()), integrity(/absolute/));
});

test('nothing is written through a symbolic link, made by the archive or found', async () => {
  const outside = await freshDir();
  const evil = 'pg_tblspc/16385';
  // A link, then a file below it: refused, nothing lands outside.
  for (const below of [`${evil}/passwd`, `${evil}/sub/passwd`]) {
    const dir = await freshDir();
    const archive = Buffer.concat([
      member(evil, '', '2', { linkname: outside }),
      member(below, 'owned'),
      END,
    ]);
    await assert.rejects(
      untar(chunks(archive), dir),
      integrity(/below the symbolic link pg_tblspc\/16385/),
    );
    assert.deepEqual(await readdir(outside), []);
  }
  // A link, then a file of the same name: O_EXCL refuses to follow it.
  const dir = await freshDir();
  const same = Buffer.concat([
    member(evil, '', '2', { linkname: join(outside, 'f') }),
    member(evil, 'owned'),
    END,
  ]);
  await assert.rejects(untar(chunks(same), dir), integrity(/16385 appears twice/));
  assert.deepEqual(await readdir(outside), []);
  // Links anywhere but pg_tblspc are refused: the restore writes postgresql.auto.conf and
  // recovery.signal into the directory as root right after the extraction.
  for (const name of ['postgresql.auto.conf', 'recovery.signal', 'pg_tblspc', 'base/1/x']) {
    const d = await freshDir();
    const link = Buffer.concat([member(name, '', '2', { linkname: '/etc/shadow' }), END]);
    await assert.rejects(untar(chunks(link), d), integrity(/links only in pg_tblspc/));
  }
  // A link, then a directory of that name.
  const asDir = Buffer.concat([
    member(evil, '', '2', { linkname: outside }),
    member(`${evil}/`, '', '5', { mode: 0o700 }),
    END,
  ]);
  await assert.rejects(untar(chunks(asDir), await freshDir()), integrity(/symbolic link/));
  // A second member of the same name never replaces the first.
  const twice = Buffer.concat([member('f', 'one'), member('f', 'two'), END]);
  const d2 = await freshDir();
  await assert.rejects(untar(chunks(twice), d2), integrity(/f appears twice/));
  assert.equal(await readFile(join(d2, 'f'), 'utf8'), 'one');
  assert.ok((await lstat(join(d2, 'f'))).isFile());
});

test('hard links, devices and damaged or truncated archives are refused by name', async () => {
  const cases: [Buffer, RegExp][] = [
    [Buffer.concat([member('h', '', '1', { linkname: 'f' }), END]), /member "h" has type "1"/],
    [Buffer.concat([member('dev', '', '3'), END]), /member "dev" has type "3"/],
    [Buffer.concat([member('f', 'x'.repeat(2000))]).subarray(0, 1500), /ends inside f/],
    [member('f', 'abc'), /ends without its end-of-archive/],
    [Buffer.concat([member('f', 'abc'), END]).subarray(0, 1024 + 100), /middle of a header/],
    [randomBytes(2048), /checksum|octal/],
  ];
  // A header wiped to zeros in the middle: not taken for the end of the archive.
  cases.push([
    Buffer.concat([member('a', 'abc'), Buffer.alloc(512), member('b', 'def'), END]),
    /zero block in the middle/,
  ]);
  cases.push([Buffer.concat([member('a', 'abc'), END, Buffer.from('x')]), /after the end/]);
  const damaged = Buffer.concat([member('f', 'abc'), END]);
  damaged[10]! ^= 1;
  cases.push([damaged, /header checksum mismatch/]);
  for (const [archive, message] of cases) {
    const dir = await freshDir();
    await assert.rejects(untar(chunks(archive), dir), integrity(message));
  }
});

test('a failing input stops the extraction with that error, every file closed', async () => {
  async function* failing(): AsyncGenerator<Uint8Array> {
    await Promise.resolve();
    yield header('f', '0', 10_000_000);
    yield Buffer.alloc(100_000);
    throw new Error('repository read failed');
  }
  const dir = await freshDir();
  await assert.rejects(untar(failing(), dir), /repository read failed/);
  // Closed: the directory can be removed and nothing holds the file.
  await rm(join(dir, 'f'));
});
