import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { aheadSpool, markSource, writeMark } from '../recovery/wal/wal-ahead.js';
import { parseWalPush, walPushFast } from './wal-push-fast.js';

describe('wal push fast path', () => {
  test('parseWalPush: the plain forms, nothing else', () => {
    assert.deepEqual(parseWalPush(['wal', 'push', '--plan', '/p.yaml', 'db', 'pg_wal/X']), {
      service: 'db',
      file: 'pg_wal/X',
      plan: '/p.yaml',
      json: false,
      ahead: true,
    });
    assert.deepEqual(parseWalPush(['-r', '/r', '--json', 'wal', 'push', 'db', 'f']), {
      service: 'db',
      file: 'f',
      repo: '/r',
      json: true,
      ahead: true,
    });
    assert.equal(parseWalPush(['--repo=/r', 'wal', 'push', '--no-ahead', 'db', 'f'])?.ahead, false);
    assert.equal(parseWalPush(['wal', 'push', '--plan=/p', 'db', 'f'])?.plan, '/p');
    for (const bad of [
      ['wal', 'push', 'db'],
      ['wal', 'push', 'db', 'f', 'g'],
      ['wal', 'verify', 'db', 'f'],
      ['--plan', '/p', 'wal', 'push', 'db', 'f'],
      ['wal', 'push', '--help', 'db', 'f'],
      ['wal', 'push', '--', 'db', 'f'],
      ['backup', 'wal', 'push', 'f'],
      ['wal', 'push', '--plan'],
    ]) {
      assert.equal(parseWalPush(bad), undefined, bad.join(' '));
    }
  });

  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lb-walfast-'));
    await mkdir(join(dir, 'pg_wal'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('answers only from a matching mark', async () => {
    const file = join(dir, 'pg_wal', '000000010000000000000042');
    await writeFile(file, 'bytes of a segment');
    const repoDir = join(dir, 'repo');
    await mkdir(join(repoDir, 'snapshots'), { recursive: true });
    await writeFile(join(repoDir, 'snapshots', 'f00d'), '');
    const env = { LIFEBOAT_REPOSITORY: repoDir };
    const argv = ['--json', 'wal', 'push', 'db', file];
    const out = new PassThrough();
    assert.equal(await walPushFast(argv, env, out), undefined, 'no mark yet');
    const spool = (await aheadSpool(file, 'db'))!;
    const mark = async () =>
      writeMark(
        { spool, source: (await markSource({ repo: repoDir }))!, repoDir },
        '000000010000000000000042',
        Buffer.from('bytes of a segment'),
        'f00d',
      );
    await mark();
    assert.equal(await walPushFast(['wal', 'push', '--no-ahead', 'db', file], env, out), undefined);
    assert.equal(
      await walPushFast(['-r', '/other', 'wal', 'push', 'db', file], env, out),
      undefined,
    );
    // The mismatching source consumed the mark as stale.
    await mark();
    assert.equal(await walPushFast(argv, env, out), 0);
    const record = JSON.parse((out.read() as Buffer).toString()) as Record<string, unknown>;
    assert.equal(record['snapshotId'], 'f00d');
    assert.equal(record['pushedAhead'], true);
    assert.equal(record['type'], 'summary');
    assert.equal(await walPushFast(argv, env, out), undefined, 'a mark answers once');
  });
});
