/**
 * Issue 3, "Bad input": database names, users, hosts and slot names that a tool could read as
 * an option, a connection string, SQL or a config line are refused by `lifeboat plan validate`
 * and `lifeboat backup <service>` with exit 1, the YAML path and line, and nothing is run.
 * "Nothing is run" is proven with binDir pointing at fake PostgreSQL tools that leave a marker
 * when called; a control run with a valid plan shows the fakes are really the ones used.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { freePort } from '../support/free-port.js';
import { dbCliRepo, pgSourceYaml, type DbCliRepo, type PgSourceSpec } from './db-cli-fixture.js';

const TOOLS = ['psql', 'pg_dump', 'pg_dumpall', 'pg_restore', 'pg_basebackup', 'pg_receivewal'];

const BAD_VALUES: Record<string, string> = {
  'option-like': '-fx',
  'SQL quote': "x' OR 1=1",
  'conninfo string': 'host=evil dbname=postgres',
  newline: 'app\nhost=evil',
  '64 KiB': 'a'.repeat(64 * 1024),
};

/** Which settings of which service get the bad value, as YAML paths. */
const TARGETS = [
  { service: 'logical', setting: 'databases[0]' },
  { service: 'logical', setting: 'user' },
  { service: 'logical', setting: 'host' },
  { service: 'physical', setting: 'user' },
  { service: 'physical', setting: 'host' },
  { service: 'physical', setting: 'wal.slot' },
] as const;

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('bad input in the plan never reaches a PostgreSQL tool', { timeout: 120_000 }, () => {
  let r: DbCliRepo;
  let binDir: string;
  let marker: string;
  let port: number;

  before(async () => {
    r = await dbCliRepo('lb-dbcli-bad-input-');
    binDir = join(r.dir, 'fake-bin');
    marker = join(r.dir, 'tools-called');
    port = await freePort();
    await mkdir(binDir);
    for (const tool of TOOLS) {
      const path = join(binDir, tool);
      // Records that it ran (and as what), then fails like an unreachable server would.
      await writeFile(path, `#!/bin/sh\necho "${tool} $*" >> '${marker}'\nexit 2\n`);
      await chmod(path, 0o755);
    }
  });
  after(() => r?.[Symbol.asyncDispose]());

  function specs(bad?: { service: string; setting: string; value: string }) {
    const logical: PgSourceSpec = { port, binDir, databases: ['app'] };
    const physical: PgSourceSpec = { mode: 'physical', port, binDir, extra: [] };
    let slot = 'lifeboat';
    const target = bad?.service === 'logical' ? logical : physical;
    if (bad?.setting === 'databases[0]') target.databases = [bad.value];
    if (bad?.setting === 'user') target.user = bad.value;
    if (bad?.setting === 'host') target.host = bad.value;
    if (bad?.setting === 'wal.slot') slot = bad.value;
    physical.extra = ['      wal:', '        mode: stream', `        slot: ${JSON.stringify(slot)}`];
    return { logical, physical };
  }

  test('control: with a valid plan the fake tools are the ones that run', async () => {
    await rm(marker, { force: true });
    await r.writePlan(specs());
    const v = await r.run(['plan', 'validate', r.plan]);
    assert.equal(v.code, 0, v.stderr);
    for (const service of ['logical', 'physical']) {
      const b = await r.run(['backup', service]);
      assert.notEqual(b.code, 0, `backup ${service} should fail: the fake tools exit 2`);
    }
    const called = await readFile(marker, 'utf8');
    assert.match(called, /^psql /m, called);
    assert.match(called, /^pg_basebackup /m, called);
    await rm(marker, { force: true });
  });

  for (const [label, value] of Object.entries(BAD_VALUES)) {
    for (const { service, setting } of TARGETS) {
      test(`${label} as ${service} ${setting}: refused with path and line, nothing run`, async () => {
        await r.writePlan(specs({ service, setting, value }));
        const lines = (await readFile(r.plan, 'utf8')).split('\n');
        const key = setting === 'databases[0]' ? '- ' : `${setting.split('.').at(-1)!}: `;
        const line =
          1 + lines.findIndex((l) => l.trimStart().startsWith(key) && l.includes(JSON.stringify(value)));
        assert.ok(line > 0, 'the bad value is in the plan');
        const path = `services.${service}.source.${setting}`;
        const where = new RegExp(`${escape(r.plan)}:${String(line)}:\\d+ ${escape(path)}: `);

        const commands = [['plan', 'validate', r.plan], ['backup', service]];
        const results = await Promise.all(commands.map((args) => r.run(args)));
        for (const [i, res] of results.entries()) {
          const args = commands[i]!;
          assert.equal(res.code, 1, `${args.join(' ')}: ${res.stdout}`);
          assert.match(res.stderr, where, `${args.join(' ')}:\n${res.stderr.slice(0, 2000)}`);
          assert.ok(res.stderr.length < 4096, `a ${res.stderr.length}-character message`);
          assert.ok(!existsSync(marker), `a tool ran: ${existsSync(marker) ? await readFile(marker, 'utf8') : ''}`);
        }
      });
    }
  }
});
