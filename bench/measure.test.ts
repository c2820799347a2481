import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { measure, type RssSource } from './measure.js';

const MiB = 1048576;
const env = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
const node = (code: string) => ({ file: process.execPath, args: ['-e', code], env });

// Touches every page of a 200 MiB buffer, holds it for 300 ms, then exits.
const HOG =
  'const b = Buffer.alloc(200 * 1048576, 1); setTimeout(() => process.exit(b[7] - 1), 300);';

const sources: RssSource[] = existsSync('/usr/bin/time') ? ['gnu-time', 'proc'] : ['proc'];

for (const source of sources) {
  test(`peak RSS and wall time of a child that holds 200 MiB (${source})`, async () => {
    const m = await measure(node(HOG), source);
    assert.equal(m.exitCode, 0);
    assert.equal(m.rssSource, source);
    assert.ok(
      m.peakRssBytes > 200 * MiB && m.peakRssBytes < 600 * MiB,
      `peak ${m.peakRssBytes / MiB} MiB`,
    );
    assert.ok(m.wallMs >= 300 && m.wallMs < 20_000, `wall ${m.wallMs} ms`);

    const small = await measure(node('setTimeout(() => {}, 100)'), source);
    assert.ok(
      small.peakRssBytes < m.peakRssBytes - 150 * MiB,
      `small peak ${small.peakRssBytes / MiB} MiB`,
    );
  });

  test(`exit codes, signals, stdout and stderr are reported (${source})`, async () => {
    const failed = await measure(
      node('console.log("out"); console.error("bad thing"); process.exit(3)'),
      source,
    );
    assert.equal(failed.exitCode, 3);
    assert.equal(failed.stdout.trim(), 'out');
    assert.equal(failed.stderr.trim(), 'bad thing');
    const killed = await measure(node('process.kill(process.pid, "SIGKILL")'), source);
    assert.equal(killed.exitCode, 128 + 9);
  });
}

test('stdin comes from a file and stdout goes to a file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bench-measure-'));
  try {
    const input = Buffer.alloc(3 * MiB, 'lifeboat ');
    writeFileSync(join(dir, 'in'), input);
    const m = await measure({
      ...node('process.stdin.pipe(process.stdout)'),
      stdinFile: join(dir, 'in'),
      stdoutFile: join(dir, 'out'),
    });
    assert.equal(m.exitCode, 0);
    assert.equal(m.stdout, '');
    assert.ok(readFileSync(join(dir, 'out')).equals(input));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the child gets exactly the environment it is given', async () => {
  const m = await measure({
    ...node('console.log(JSON.stringify(process.env))'),
    env: { ...env, ONLY_THIS: 'yes' },
  });
  const seen = JSON.parse(m.stdout) as Record<string, string>;
  assert.equal(seen.ONLY_THIS, 'yes');
  assert.equal(seen.HOME, undefined);
});
