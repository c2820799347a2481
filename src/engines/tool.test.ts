import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isLifeboatError } from '../core/errors.js';
import { runTool, toolOutput } from './tool.js';

async function collect(it: AsyncIterable<Uint8Array>): Promise<string> {
  const parts: Buffer[] = [];
  for await (const c of it) parts.push(Buffer.from(c));
  return Buffer.concat(parts).toString();
}

const sh = (script: string, what = 'test tool') => ({
  command: '/bin/sh',
  args: ['-c', script],
  what,
});

test('toolOutput yields stdout and completes on exit 0', async () => {
  assert.equal(await collect(toolOutput(sh('printf hello; printf " world"'))), 'hello world');
});

test('toolOutput throws with the exit code and stderr tail after partial output', async () => {
  await assert.rejects(
    collect(toolOutput(sh('printf partial; echo "boom: db gone" >&2; exit 3', 'dump of app'))),
    (e: unknown) => {
      assert.ok(isLifeboatError(e, 'TOOL_FAILED'));
      assert.match(e.message, /^dump of app: \/bin\/sh exited with code 3: boom: db gone$/);
      return true;
    },
  );
});

test('a tool killed by a signal is a failure, not a short backup', async () => {
  await assert.rejects(collect(toolOutput(sh('printf x; kill -9 $$'))), /killed by SIGKILL/);
});

test('a missing tool names the command', async () => {
  await assert.rejects(
    collect(toolOutput({ command: 'no-such-tool-lifeboat', args: [], what: 'x' })),
    /no-such-tool-lifeboat is not installed/,
  );
});

test('classify maps a failure to a better code', async () => {
  await assert.rejects(
    runTool({
      ...sh('echo "connection refused" >&2; exit 2'),
      classify: (s) => (s.includes('refused') ? 'UNREACHABLE' : undefined),
    }),
    (e: unknown) => isLifeboatError(e, 'UNREACHABLE'),
  );
});

test('leaving the loop early kills the tool', async () => {
  const it = toolOutput(sh('echo $$; exec sleep 30'));
  let pid = 0;
  for await (const c of it) {
    pid = Number(Buffer.from(c).toString().trim());
    break;
  }
  await new Promise((r) => setTimeout(r, 100));
  assert.throws(() => process.kill(pid, 0), /ESRCH/);
});

test('runTool feeds stdin and returns stdout; LIFEBOAT_ secrets do not reach the tool', async () => {
  process.env.LIFEBOAT_PASSWORD = 'secret-for-test';
  try {
    async function* input() {
      await Promise.resolve();
      yield Buffer.from('a\n');
      yield Buffer.from('b\n');
    }
    const r = await runTool(sh('cat; echo "pw=${LIFEBOAT_PASSWORD:-none}"'), { input: input() });
    assert.equal(r.stdout, 'a\nb\npw=none\n');
  } finally {
    delete process.env.LIFEBOAT_PASSWORD;
  }
});

test('runTool: an input error kills the tool and is thrown', async () => {
  async function* input() {
    yield Buffer.from('a');
    await Promise.resolve();
    throw new Error('repository read failed');
  }
  await assert.rejects(
    runTool(sh('cat >/dev/null; sleep 5'), { input: input() }),
    /repository read failed/,
  );
});

test('runTool: a tool that exits before reading all input reports its own failure', async () => {
  async function* input() {
    await Promise.resolve();
    for (let i = 0; i < 1000; i++) yield Buffer.alloc(65536);
  }
  await assert.rejects(
    runTool(sh('head -c 10 >/dev/null; exit 4'), { input: input() }),
    /exited with code 4/,
  );
});

test('abort kills the tool and reports cancellation', async () => {
  const ac = new AbortController();
  setTimeout(() => ac.abort(), 100);
  await assert.rejects(
    runTool(sh('sleep 30'), { signal: ac.signal }),
    (e: unknown) => isLifeboatError(e, 'CANCELLED') || (e as Error).name === 'AbortError',
  );
});
