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
import { after, before, beforeEach, describe, test } from 'node:test';
import { freePort } from '../support/free-port.js';
import { dbCliRepo, type DbCliRepo, type PgSourceSpec } from './db-cli-fixture.js';

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
  beforeEach(() => rm(marker, { force: true }));
  after(() => r?.[Symbol.asyncDispose]());

  /** The two services, with `bad` (when given) in every setting of TARGETS. */
  function specs(bad?: string) {
    const logical: PgSourceSpec = { port, binDir, databases: ['app'] };
    const physical: PgSourceSpec = { mode: 'physical', port, binDir };
    const slot = bad ?? 'lifeboat';
    physical.extra = [
      '      wal:',
      '        mode: stream',
      `        slot: ${JSON.stringify(slot)}`,
    ];
    if (bad !== undefined) {
      Object.assign(logical, { databases: [bad], user: bad, host: bad });
      Object.assign(physical, { user: bad, host: bad });
    }
    return { logical, physical };
  }

  test('control: with a valid plan the fake tools are the ones that run', async () => {
    await r.writePlan(specs());
    const v = await r.run(['plan', 'validate', r.plan]);
    assert.equal(v.code, 0, v.stderr);
    for (const service of ['logical', 'physical']) {
      await rm(marker, { force: true });
      const b = await r.run(['backup', service]);
      assert.notEqual(b.code, 0, `backup ${service} should fail: the fake tools exit 2`);
      assert.ok(existsSync(marker), `backup ${service} ran no tool from binDir`);
    }
  });

  for (const [label, value] of Object.entries(BAD_VALUES)) {
    test(`${label}: refused with path and line, nothing run`, async () => {
      await r.writePlan(specs(value));
      const lines = (await readFile(r.plan, 'utf8')).split('\n');
      const quoted = JSON.stringify(value);
      // Where each bad value sits: [path, line], in the order the services are written.
      const places = TARGETS.map(({ service, setting }) => {
        const key = setting === 'databases[0]' ? '- ' : `${setting.split('.').at(-1)!}: `;
        const from = lines.indexOf(`  ${service}:`);
        const at = lines.findIndex(
          (l, i) => i > from && l.trimStart().startsWith(key) && l.includes(quoted),
        );
        assert.ok(from >= 0 && at > 0, `${service} ${setting} is in the plan`);
        return { service, path: `services.${service}.source.${setting}`, line: at + 1 };
      });
      const listed = (stderr: string, place: (typeof places)[number]) =>
        new RegExp(`${escape(r.plan)}:${String(place.line)}:\\d+ ${escape(place.path)}: `).test(
          stderr,
        );

      const runs = await Promise.all([
        r.run(['plan', 'validate', r.plan]),
        r.run(['backup', 'logical']),
        r.run(['backup', 'physical']),
      ]);
      for (const [i, res] of runs.entries()) {
        const what = ['plan validate', 'backup logical', 'backup physical'][i]!;
        assert.equal(res.code, 1, `${what}: ${res.stdout}`);
        assert.ok(res.stderr.length < 8192, `${what}: a ${res.stderr.length}-character message`);
        for (const place of places) {
          assert.ok(
            listed(res.stderr, place),
            `${what} does not name ${place.path} at line ${place.line}:\n${res.stderr}`,
          );
        }
      }
      assert.ok(
        !existsSync(marker),
        `a tool ran: ${existsSync(marker) ? await readFile(marker, 'utf8') : ''}`,
      );
    });
  }
});
