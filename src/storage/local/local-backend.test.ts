import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm, stat, utimes, writeFile, mkdir, rmdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { LifeboatError } from '../../core/errors.js';
import type { Handle } from '../backend.js';
import { backendContract, collect, rejectsWith } from '../contract.js';
import { runChild } from '../run-child.js';
import { fsError } from './fs-error.js';
import { cleanupTempFiles, createLocalBackend, type LocalBackendOptions } from './local-backend.js';

const idOf = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

async function tempRepo(options: LocalBackendOptions = {}) {
  const dir = await mkdtemp(join(tmpdir(), 'lifeboat-local-'));
  const path = join(dir, 'repo');
  return {
    dir,
    path,
    backend: createLocalBackend(path, options),
    dispose: () => rm(dir, { recursive: true, force: true }),
  };
}

backendContract('local', tempRepo);

test('create makes restic layout with 256 data shards and restic 0.14 modes', async () => {
  const r = await tempRepo();
  try {
    await r.backend.create();
    assert.deepEqual((await readdir(r.path)).sort(), [
      'data',
      'index',
      'keys',
      'locks',
      'snapshots',
    ]);
    const shards = await readdir(join(r.path, 'data'));
    assert.equal(shards.length, 256);
    assert.ok(shards.includes('00') && shards.includes('ff') && shards.includes('7a'));
    assert.equal((await stat(r.path)).mode & 0o777, 0o700);
    assert.equal((await stat(join(r.path, 'data', 'c3'))).mode & 0o777, 0o700);
    const data = randomBytes(10);
    await r.backend.save({ type: 'pack', name: idOf(data) }, data);
    const file = join(r.path, 'data', idOf(data).slice(0, 2), idOf(data));
    assert.equal((await stat(file)).mode & 0o777, 0o400);
  } finally {
    await r.dispose();
  }
});

test('a group-readable config makes new files group-readable, as restic does', async () => {
  const r = await tempRepo();
  try {
    await r.backend.create();
    await r.backend.save({ type: 'config', name: 'config' }, Buffer.from('c'));
    const { chmod } = await import('node:fs/promises');
    await chmod(join(r.path, 'config'), 0o440);
    const shared = createLocalBackend(r.path);
    const data = randomBytes(10);
    await shared.save({ type: 'index', name: idOf(data) }, data);
    assert.equal((await stat(join(r.path, 'index', idOf(data)))).mode & 0o777, 0o440);
  } finally {
    await r.dispose();
  }
});

test('the final name appears only once the file is complete and fsync-ed', async () => {
  const synced: string[] = [];
  const data = randomBytes(3 * 1024 * 1024);
  const h: Handle = { type: 'snapshot', name: idOf(data) };
  const r = await tempRepo({
    observer: {
      onFsync: (path, kind) => synced.push(`${kind}:${path}`),
      async onTempWritten(tmp) {
        synced.push('committing');
        assert.equal((await stat(tmp)).size, data.length);
        await rejectsWith(r.backend.stat(h), 'NOT_FOUND');
        assert.deepEqual(await collect(r.backend.list('snapshot')), []);
      },
    },
  });
  try {
    await r.backend.create();
    await r.backend.save(h, data);
    const dir = join(r.path, 'snapshots');
    assert.equal(synced.length, 3, synced.join());
    assert.match(synced[0]!, new RegExp(`^file:${dir}/\\.tmp-${h.name}-`));
    assert.deepEqual(synced.slice(1), ['committing', `dir:${dir}`]);
    assert.deepEqual(await readdir(dir), [h.name]); // temp file gone
  } finally {
    await r.dispose();
  }
});

test('a save that fails or is cancelled before commit leaves no file at all', async () => {
  const ac = new AbortController();
  let mode: 'throw' | 'abort' = 'throw';
  const r = await tempRepo({
    observer: {
      onTempWritten() {
        if (mode === 'throw') throw new LifeboatError('IO', 'simulated failure');
        ac.abort();
      },
    },
  });
  try {
    await r.backend.create();
    const data = randomBytes(1000);
    const h: Handle = { type: 'pack', name: idOf(data) };
    await rejectsWith(r.backend.save(h, data), 'IO');
    mode = 'abort';
    await rejectsWith(r.backend.save(h, data, { signal: ac.signal }), 'CANCELLED');
    assert.deepEqual(await readdir(join(r.path, 'data', h.name.slice(0, 2))), []);
    await rejectsWith(r.backend.stat(h), 'NOT_FOUND');
  } finally {
    await r.dispose();
  }
});

test('a process killed mid-save leaves only a temp file, which list ignores', async () => {
  const r = await tempRepo();
  try {
    await r.backend.create();
    const data = Buffer.alloc(100_000, 0x5a); // the child makes the same bytes
    const id = idOf(data);
    const { code, signal, out } = await runChild(killChildScript(), { REPO: r.path, ID: id });
    assert.equal(signal, 'SIGKILL', `child exited with ${code}: ${out}`);
    const shard = join(r.path, 'data', id.slice(0, 2));
    const left = await readdir(shard);
    assert.equal(left.length, 1);
    assert.ok(left[0]!.startsWith(`.tmp-${id}-`), left[0]);
    assert.equal((await stat(join(shard, left[0]!))).size, data.length);
    assert.deepEqual(await collect(r.backend.list('pack')), []);
    await rejectsWith(r.backend.load({ type: 'pack', name: id }), 'NOT_FOUND');
    // A fresh temp file may belong to a running save: it stays until it is a day old.
    assert.equal(await cleanupTempFiles(r.path), 0);
    const old = new Date(Date.now() - 25 * 60 * 60 * 1000);
    await utimes(join(shard, left[0]!), old, old);
    assert.equal(await cleanupTempFiles(r.path), 1);
    assert.deepEqual(await readdir(shard), []);
    await r.backend.save({ type: 'pack', name: id }, data); // and the save can be redone
  } finally {
    await r.dispose();
  }
});

function killChildScript(): string {
  const url = new URL('./local-backend.js', import.meta.url).href;
  return `
    import { createLocalBackend } from ${JSON.stringify(url)};
    const b = createLocalBackend(process.env.REPO, {
      observer: { onTempWritten: () => process.kill(process.pid, 'SIGKILL') },
    });
    await b.save({ type: 'pack', name: process.env.ID }, Buffer.alloc(100000, 0x5a));
  `;
}

test('list ignores temp files, foreign names, directories and misplaced packs', async () => {
  const r = await tempRepo();
  try {
    await r.backend.create();
    const data = randomBytes(50);
    const id = idOf(data);
    await r.backend.save({ type: 'pack', name: id }, data);
    const shard = join(r.path, 'data', id.slice(0, 2));
    const other = id.slice(0, 2) === 'ff' ? '00' : 'ff';
    await writeFile(join(shard, `.tmp-${id}-123456`), 'partial');
    await writeFile(join(shard, `${id}-tmp-987`), 'restic temp');
    await writeFile(join(shard, id.toUpperCase()), 'upper');
    await writeFile(join(r.path, 'data', other, id), 'wrong shard');
    await mkdir(join(r.path, 'index', 'e'.repeat(64)));
    await writeFile(join(r.path, 'index', 'README'), 'x');
    await writeFile(join(r.path, 'index', `.tmp-${'e'.repeat(64)}-1`), 'x');
    assert.deepEqual(await collect(r.backend.list('pack')), [{ name: id, size: 50 }]);
    assert.deepEqual(await collect(r.backend.list('index')), []);
  } finally {
    await r.dispose();
  }
});

test('recreates a missing shard directory; a broken layout is IO naming the path', async () => {
  const r = await tempRepo();
  try {
    await r.backend.create();
    const data = randomBytes(20);
    const id = idOf(data);
    await rmdir(join(r.path, 'data', id.slice(0, 2)));
    await r.backend.save({ type: 'pack', name: id }, data);
    assert.deepEqual(await r.backend.load({ type: 'pack', name: id }), data);
    await rm(join(r.path, 'snapshots'), { recursive: true });
    await writeFile(join(r.path, 'snapshots'), 'not a directory');
    const err = await r.backend.save({ type: 'snapshot', name: id }, data).catch((e: unknown) => e);
    assert.ok(err instanceof LifeboatError && err.code === 'IO', String(err));
    assert.ok(String(err.details.path).startsWith(join(r.path, 'snapshots')), err.message);
  } finally {
    await r.dispose();
  }
});

test('names outside the repository are never touched', async () => {
  const r = await tempRepo();
  try {
    await r.backend.create();
    await rejectsWith(
      r.backend.save({ type: 'key', name: '../x' }, Buffer.from('x')),
      'INVALID_ARGUMENT',
    );
    await rejectsWith(r.backend.remove({ type: 'index', name: '../../repo' }), 'INVALID_ARGUMENT');
    assert.deepEqual(await readdir(r.dir), ['repo']);
    assert.deepEqual(await readdir(join(r.path, 'keys')), []);
  } finally {
    await r.dispose();
  }
});

test('file-system errors are classified where they arise', () => {
  const errno = (code: string) => Object.assign(new Error(`${code}: simulated`), { code });
  const notFound = fsError(errno('ENOENT'), 'open', '/r/keys/k');
  assert.equal(notFound.code, 'NOT_FOUND');
  assert.match(notFound.message, /\/r\/keys\/k/);
  for (const code of ['EACCES', 'ENOSPC', 'EIO', 'EROFS']) {
    const e = fsError(errno(code), 'write', '/r/data/ab/x');
    assert.equal(e.code, 'IO', code);
    assert.equal(e.retryable, false, code);
    assert.deepEqual(e.details, { path: '/r/data/ab/x', op: 'write', errno: code });
  }
  assert.equal(fsError(errno('EBUSY'), 'open', '/x').retryable, true);
  assert.equal(fsError(errno('EMFILE'), 'open', '/x').retryable, true);
});

test('a staged pack grows on disk, unlisted, and save() links it into its shard durably', async () => {
  const synced: string[] = [];
  const parts = [randomBytes(100_000), randomBytes(5), randomBytes(2 * 1024 * 1024)];
  const whole = Buffer.concat(parts);
  const h: Handle = { type: 'pack', name: idOf(whole) };
  const r = await tempRepo({
    observer: {
      onFsync: (path, kind) => synced.push(`${kind}:${path}`),
      async onTempWritten(tmp) {
        synced.push('committing');
        assert.equal((await stat(tmp)).size, whole.length);
        await rejectsWith(r.backend.stat(h), 'NOT_FOUND');
      },
    },
  });
  try {
    await r.backend.create();
    const staged = r.backend.stage!('pack');
    for (const p of parts) {
      staged.write(p);
      p.fill(0); // the bytes are written when write() returns
    }
    assert.equal(staged.size, whole.length);
    const temps = (await readdir(join(r.path, 'data'))).filter((n) => n.startsWith('.tmp-'));
    assert.equal(temps.length, 1);
    assert.deepEqual(await collect(r.backend.list('pack')), []);
    await r.backend.save(h, staged);
    assert.deepEqual(await r.backend.load(h), whole);
    assert.deepEqual(synced.slice(1), [
      'committing',
      `dir:${join(r.path, 'data', h.name.slice(0, 2))}`,
    ]);
    assert.ok(!(await readdir(join(r.path, 'data'))).some((n) => n.startsWith('.tmp-')));
    // A discarded staged file leaves nothing; another backend's staged file is refused.
    const dropped = r.backend.stage!('pack');
    dropped.write(parts[1]!);
    await dropped.discard();
    assert.ok(!(await readdir(join(r.path, 'data'))).some((n) => n.startsWith('.tmp-')));
    const other = await tempRepo();
    try {
      await other.backend.create();
      const foreign = other.backend.stage!('pack');
      await rejectsWith(
        r.backend.save({ type: 'pack', name: idOf(parts[1]!) }, foreign),
        'INTERNAL',
      );
      await foreign.discard();
    } finally {
      await other.dispose();
    }
  } finally {
    await r.dispose();
  }
});
