/**
 * Issue 2, "Must hold", bad input: every mistake a user can make at the command line gets
 * the documented exit code (wrong password 12, no repository 10, locked 11, others 1) and a
 * message that says what was wrong, and never damages the repository or a restore target.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openRepository } from '../../src/repository/open-repository.js';
import { lockRepository, type LockInfo } from '../../src/repository/lock.js';
import { openBackend } from '../../src/storage/open-backend.js';
import {
  lifeboat,
  lifeboatOk,
  record,
  tempDir,
  treeDigest,
  type TempDir,
  sourceAndRepo,
} from '../support/cli.js';

const PASSWORD = 'the right one';

describe('bad input on a repository', () => {
  let dir: TempDir;
  let repo: string;
  let src: string;
  let env: Record<string, string>;
  let snapshotId: string;

  before(async () => {
    ({ dir, repo, src, env } = await sourceAndRepo('lb-bad-input-', PASSWORD, {
      randomBytes: 64 * 1024,
    }));
    await lifeboatOk(['init'], { env });
    const out = await lifeboatOk(['--json', 'backup', src], { env });
    snapshotId = record(out.stdout, 'summary').snapshotId as string;
  });
  after(() => dir[Symbol.asyncDispose]());

  test('a wrong password exits 12', async () => {
    const r = await lifeboat(['snapshots'], { env: { ...env, LIFEBOAT_PASSWORD: 'wrong' } });
    assert.equal(r.code, 12, r.stderr);
    assert.match(r.stderr, /wrong password/);
    const j = await lifeboat(['--json', 'check'], { env: { ...env, LIFEBOAT_PASSWORD: 'wrong' } });
    assert.equal(j.code, 12);
    assert.equal(record(j.stdout, 'error').code, 'WRONG_PASSWORD');
  });

  test('a password file is read, and a missing one is named', async () => {
    const file = join(dir.path, 'pw');
    await writeFile(file, PASSWORD + '\n');
    const ok = await lifeboat(['snapshots'], {
      env: { LIFEBOAT_REPOSITORY: repo, LIFEBOAT_PASSWORD_FILE: file },
    });
    assert.equal(ok.code, 0, ok.stderr);
    const missing = join(dir.path, 'no-such-pw');
    const r = await lifeboat(['--password-file', missing, 'snapshots'], {
      env: { LIFEBOAT_REPOSITORY: repo },
    });
    assert.equal(r.code, 1);
    assert.ok(r.stderr.includes(missing), r.stderr);
  });

  test('no repository exits 10; no location at all is a usage error', async () => {
    for (const where of [join(dir.path, 'nothing'), dir.path]) {
      const r = await lifeboat(['-r', where, 'snapshots'], {
        env: { LIFEBOAT_PASSWORD: PASSWORD },
      });
      assert.equal(r.code, 10, r.stderr);
      assert.match(r.stderr, /no repository/);
    }
    const r = await lifeboat(['snapshots'], { env: { LIFEBOAT_PASSWORD: PASSWORD } });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /-r\/--repo|LIFEBOAT_REPOSITORY/);
  });

  test('init over an existing repository fails and leaves it intact', async () => {
    const config = await readFile(join(repo, 'config'));
    const keys = await readdir(join(repo, 'keys'));
    const r = await lifeboat(['init'], { env: { ...env, LIFEBOAT_PASSWORD: 'another' } });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /already exists/);
    assert.ok((await readFile(join(repo, 'config'))).equals(config));
    assert.deepEqual(await readdir(join(repo, 'keys')), keys);
    const snaps = JSON.parse((await lifeboatOk(['--json', 'snapshots'], { env })).stdout) as {
      id: string;
    }[];
    assert.deepEqual(
      snaps.map((s) => s.id),
      [snapshotId],
    );
    const other = await lifeboat(['snapshots'], { env: { ...env, LIFEBOAT_PASSWORD: 'another' } });
    assert.equal(other.code, 12);
  });

  test('restore refuses a non-empty target without --overwrite', async () => {
    const target = join(dir.path, 'target-nonempty');
    const inTheWay = join(target, src, 'docs/readme.txt');
    await mkdir(join(target, src, 'docs'), { recursive: true });
    await writeFile(inTheWay, 'keep me unless told otherwise');
    await writeFile(join(target, 'unrelated'), 'x');
    const r = await lifeboat(['restore', snapshotId, '--target', target], { env });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /not empty/);
    assert.match(r.stderr, /--overwrite/);
    assert.equal(await readFile(inTheWay, 'utf8'), 'keep me unless told otherwise');

    await lifeboatOk(['restore', snapshotId, '--target', target, '--overwrite'], { env });
    assert.deepEqual(await treeDigest(join(target, src)), await treeDigest(src));
    assert.equal(await readFile(join(target, 'unrelated'), 'utf8'), 'x');
  });

  test('restore needs --target', async () => {
    const r = await lifeboat(['restore', snapshotId], { env });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /--target/);
  });

  test('an unknown snapshot id is named in the error', async () => {
    const target = join(dir.path, 'target-unknown');
    for (const args of [
      ['restore', 'deadbeef', '--target', target],
      ['ls', 'deadbeef'],
      ['dump', 'deadbeef', '/x'],
      ['cat', 'snapshot', 'deadbeef'],
    ]) {
      const r = await lifeboat(args, { env });
      assert.equal(r.code, 1, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /deadbeef/, args.join(' '));
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    }
    const missingFile = await lifeboat(['dump', snapshotId, join(src, 'no-such-file')], { env });
    assert.equal(missingFile.code, 1);
    assert.match(missingFile.stderr, /no-such-file/);
  });

  test('--read-data-subset must be a percentage in (0, 100]', async () => {
    for (const v of ['0%', 'abc', '101%', '10']) {
      const r = await lifeboat(['check', '--read-data-subset', v], { env });
      assert.equal(r.code, 1, v);
      assert.match(r.stderr, /--read-data-subset/, v);
    }
    await lifeboatOk(['check', '--read-data-subset', '50%'], { env });
  });

  test('backup with nothing to back up says so', async () => {
    const empty = join(dir.path, 'empty-cwd');
    await mkdir(empty);
    const withRepo = await lifeboat(['backup'], { env, cwd: empty });
    assert.equal(withRepo.code, 1);
    assert.match(withRepo.stderr, /nothing to back up/);
    const noRepo = await lifeboat(['backup'], { env: { LIFEBOAT_PASSWORD: PASSWORD }, cwd: empty });
    assert.equal(noRepo.code, 1);
    assert.match(noRepo.stderr, /repo/);
    const missing = await lifeboat(['backup', join(dir.path, 'not-there')], { env });
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /not-there/);
  });

  test('locks: exclusive blocks everyone, shared blocks check, stale ones are ignored', async () => {
    const r = await openRepository(openBackend(repo), PASSWORD);
    try {
      const exclusive = await lockRepository(r, true);
      try {
        for (const args of [['check'], ['backup', src]]) {
          const res = await lifeboat(args, { env });
          assert.equal(res.code, 11, `${args[0]}: ${res.stderr}`);
          assert.match(res.stderr, new RegExp(`PID ${process.pid}`));
        }
      } finally {
        await exclusive.release();
      }
      const shared = await lockRepository(r, false);
      try {
        assert.equal((await lifeboat(['check'], { env })).code, 11);
        await lifeboatOk(['backup', src], { env });
      } finally {
        await shared.release();
      }

      // A lock of a process that has exited on this host, and one older than 30 minutes
      // from another host, are stale: they block nothing and `unlock` removes them.
      const now = new Date().toISOString();
      const lock = (over: Partial<LockInfo>): LockInfo => ({
        time: now,
        exclusive: true,
        hostname: hostname(),
        username: 'test',
        pid: process.pid,
        ...over,
      });
      const stale1 = await r.saveUnpacked('lock', lock({ pid: await deadPid() }));
      const stale2 = await r.saveUnpacked(
        'lock',
        lock({ hostname: 'elsewhere', time: new Date(Date.now() - 2 * 3600_000).toISOString() }),
      );
      await lifeboatOk(['check'], { env });
      const live = await r.saveUnpacked('lock', lock({}));
      const remote = await r.saveUnpacked('lock', lock({ hostname: 'elsewhere', pid: 1 }));
      assert.equal((await lifeboat(['check'], { env })).code, 11);

      const unlocked = record((await lifeboatOk(['--json', 'unlock'], { env })).stdout, 'summary');
      assert.deepEqual([...(unlocked.removed as string[])].sort(), [stale1, stale2].sort());
      assert.deepEqual((await readdir(join(repo, 'locks'))).sort(), [live, remote].sort());
      assert.equal((await lifeboat(['backup', src], { env })).code, 11);

      const all = record(
        (await lifeboatOk(['--json', 'unlock', '--remove-all'], { env })).stdout,
        'summary',
      );
      assert.deepEqual([...(all.removed as string[])].sort(), [live, remote].sort());
      assert.deepEqual(await readdir(join(repo, 'locks')), []);
      await lifeboatOk(['check'], { env });
    } finally {
      await r.backend.close();
    }
  });
});

/** The pid of a process that has already exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  await new Promise((resolve) => child.once('exit', resolve));
  return child.pid!;
}

describe('bad plans', () => {
  test('an invalid value is reported with file, line and YAML path', async () => {
    await using dir = await tempDir('lb-bad-plan-');
    const file = join(dir.path, 'lifeboat.yaml');
    await writeFile(
      file,
      [
        'version: 1',
        'repositories:',
        '  main:',
        '    url: /srv/backup',
        '    password: { env: LB_PW }',
        'services:',
        '  app:',
        '    source:',
        '      type: directory',
        '      path: relative/path',
        '',
      ].join('\n'),
    );
    const r = await lifeboat(['plan', 'validate', file]);
    assert.equal(r.code, 1);
    assert.ok(r.stderr.includes(`${file}:10:`), r.stderr);
    assert.match(r.stderr, /services\.app\.source\.path/);
    assert.match(r.stderr, /absolute/);
    const j = await lifeboat(['--json', 'plan', 'validate', file]);
    assert.equal(j.code, 1);
    const err = record(j.stdout, 'error');
    assert.equal(err.code, 'INVALID_PLAN');
    assert.deepEqual(
      (err.issues as { path: string; line: number }[]).map((i) => [i.path, i.line]),
      [['services.app.source.path', 10]],
    );
  });

  test('an unknown key, an inline password and a YAML syntax error are rejected', async () => {
    await using dir = await tempDir('lb-bad-plan-');
    const cases: [string, string[], RegExp][] = [
      [
        'unknown-key.yaml',
        [
          'version: 1',
          'repositories:',
          '  main:',
          '    url: /srv/b',
          '    password: { env: X }',
          '    colour: red',
          'services:',
          '  app:',
          '    source: { type: directory, path: /srv/app }',
        ],
        /:6:.*repositories\.main\.colour.*unknown key/,
      ],
      [
        'inline-password.yaml',
        [
          'version: 1',
          'repositories:',
          '  main:',
          '    url: /srv/b',
          '    password: hunter2',
          'services:',
          '  app:',
          '    source: { type: directory, path: /srv/app }',
        ],
        /:5:.*repositories\.main\.password.*inline passwords are not allowed/,
      ],
      [
        'syntax.yaml',
        ['version: 1', 'repositories:', '  main: [unclosed', 'services: {}'],
        /syntax\.yaml:\d+/,
      ],
    ];
    for (const [name, lines, expected] of cases) {
      const file = join(dir.path, name);
      await writeFile(file, lines.join('\n') + '\n');
      const r = await lifeboat(['plan', 'validate', file]);
      assert.equal(r.code, 1, name);
      assert.match(r.stderr, expected, name);
      assert.doesNotMatch(r.stderr, /hunter2/, 'a secret is never echoed');
    }
    const missing = await lifeboat(['plan', 'validate', join(dir.path, 'none.yaml')]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /none\.yaml/);
  });
});

test('--help works on every command and subcommand', async () => {
  const top = await lifeboatOk(['--help']);
  assert.match(top.stdout, /Usage: lifeboat/);
  const commands = commandNames(top.stdout);
  for (const c of [
    'init',
    'backup',
    'snapshots',
    'ls',
    'restore',
    'dump',
    'cat',
    'check',
    'key',
    'unlock',
    'plan',
  ]) {
    assert.ok(commands.includes(c), `${c} is listed in --help`);
  }
  const paths: string[][] = [];
  for (const c of commands) {
    const r = await lifeboatOk([c, '--help']);
    assert.match(r.stdout, new RegExp(`Usage: lifeboat ${c}`));
    for (const sub of commandNames(r.stdout)) paths.push([c, sub]);
  }
  assert.ok(paths.length >= 5, `subcommands found: ${paths.map((p) => p.join(' ')).join(', ')}`);
  await Promise.all(
    paths.map(async (p) => {
      const r = await lifeboatOk([...p, '--help']);
      assert.match(r.stdout, new RegExp(`Usage: lifeboat ${p.join(' ')}`));
    }),
  );
});

/** Command names from the "Commands:" section of commander's help, without `help`. */
function commandNames(help: string): string[] {
  const section = help.split(/^Commands:$/m)[1] ?? '';
  return [...section.matchAll(/^ {2}([a-z][\w-]*)/gm)]
    .map((m) => m[1]!)
    .filter((n) => n !== 'help');
}
