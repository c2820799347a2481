import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isLifeboatError } from '../core/errors.js';
import { compilePlan } from './compile-plan.js';
import type { PlanIssue } from './issues.js';
import type { DirectorySource, Plan } from './plan.js';

type Raw = Record<string, unknown>;
const DELETE = Symbol('delete');

/** A valid plan in the shape parsed YAML has. */
function basePlan(): Raw {
  return {
    version: 1,
    repositories: {
      main: { url: '/var/backups/lifeboat/', password: { env: 'LIFEBOAT_PASSWORD' } },
    },
    tiers: { critical: { rto: '15m', rpo: '5m', description: 'money moves here' } },
    services: {
      web: {
        tier: 'critical',
        dependsOn: ['db'],
        source: { type: 'directory', path: '/srv/web' },
      },
      db: {
        source: { type: 'directory', path: '/srv//db/', exclude: ['*.tmp'], oneFileSystem: true },
        tags: ['prod'],
      },
    },
  };
}

const isRaw = (value: unknown): value is Raw =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Sets (or with DELETE removes) dotted paths in `raw`, creating mappings on the way. */
function edit(raw: Raw, ...changes: [string, unknown][]): Raw {
  for (const [path, value] of changes) {
    const keys = path.split('.');
    const last = keys.pop() ?? '';
    let node = raw;
    for (const key of keys) {
      const next = node[key];
      node = isRaw(next) ? next : (node[key] = {});
    }
    if (value === DELETE) Reflect.deleteProperty(node, last);
    else node[last] = value;
  }
  return raw;
}

/** The base plan with changes applied. */
const changed = (...changes: [string, unknown][]): Raw => edit(basePlan(), ...changes);

function issuesOf(raw: unknown): PlanIssue[] {
  try {
    compilePlan(raw);
  } catch (err) {
    assert.ok(isLifeboatError(err, 'INVALID_PLAN'), `expected INVALID_PLAN, got ${String(err)}`);
    const issues = err.details['issues'] as PlanIssue[];
    // The message is the issues, one per line, readable without the details.
    const lines = issues.map((i) => (i.path === '' ? i.message : `${i.path}: ${i.message}`));
    assert.equal(err.message, lines.join('\n'));
    return issues;
  }
  assert.fail('compilePlan accepted an invalid plan');
}

/** Asserts exactly one issue, at `path`, whose message contains `fragment`. */
function assertIssue(raw: unknown, path: string, fragment: string): void {
  const issues = issuesOf(raw);
  assert.equal(issues.length, 1, JSON.stringify(issues));
  assert.equal(issues[0]?.path, path);
  assert.ok(issues[0]?.message.includes(fragment), `"${issues[0]?.message}" lacks "${fragment}"`);
}

test('a valid plan compiles with defaults applied and durations in ms', () => {
  const plan = compilePlan(basePlan());
  assert.equal(plan.version, 1);
  assert.equal(plan.primaryRepository, 'main');
  assert.deepEqual(
    { ...plan.repositories['main'] },
    {
      name: 'main',
      url: '/var/backups/lifeboat/',
      location: { type: 'local', path: '/var/backups/lifeboat' },
      password: { env: 'LIFEBOAT_PASSWORD' },
      primary: true,
    },
  );
  assert.deepEqual(
    { ...plan.tiers['critical'] },
    { name: 'critical', rtoMs: 900_000, rpoMs: 300_000, description: 'money moves here' },
  );
  const web = plan.services['web'];
  assert.equal(web?.repository, 'main');
  assert.deepEqual(web?.tags, []);
  assert.deepEqual(web?.source, {
    type: 'directory',
    path: '/srv/web',
    exclude: [],
    oneFileSystem: false,
  });
  assert.equal(dirOf(plan, 'db').path, '/srv/db');
  assert.equal(dirOf(plan, 'db').oneFileSystem, true);
  assert.equal('tier' in (plan.services['db'] ?? {}), false);
  assert.deepEqual(plan.serviceOrder, ['db', 'web']);
});

test('the compiled plan is deeply frozen', () => {
  const plan = compilePlan(basePlan());
  for (const value of [
    plan,
    plan.repositories,
    plan.repositories['main']?.password,
    plan.services['db']?.source,
    dirOf(plan, 'db').exclude,
    plan.services['web']?.dependsOn,
    plan.serviceOrder,
  ]) {
    assert.ok(Object.isFrozen(value), JSON.stringify(value));
  }
  assert.throws(() => {
    (plan.services['db']?.tags as string[]).push('x');
  }, TypeError);
});

test('the compiled plan does not alias the raw input', () => {
  const raw = basePlan();
  const plan = compilePlan(raw);
  edit(raw, ['services.db.tags', ['late']], ['services.db.source.exclude', []]);
  assert.deepEqual(plan.services['db']?.tags, ['prod']);
  assert.deepEqual(dirOf(plan, 'db').exclude, ['*.tmp']);
  assert.equal(Object.isFrozen(raw['services']), false);
});

test('name lookups cannot reach Object.prototype', () => {
  const plan = compilePlan(basePlan());
  assert.equal(plan.services['constructor'], undefined);
  assert.equal(Object.hasOwn(plan.tiers, 'toString'), false);
  assert.equal(Object.getPrototypeOf(plan.tiers), null);
  assertIssue(
    changed(['services.web.tier', 'constructor']),
    'services.web.tier',
    'unknown tier "constructor"',
  );
});

test('a file password stays a reference', () => {
  const plan = compilePlan(
    changed(
      ['repositories.main.password', { file: '/etc/lifeboat/pass' }],
      ['repositories.main.url', 'local:/mnt/backup'],
    ),
  );
  assert.deepEqual({ ...plan.repositories['main']?.password }, { file: '/etc/lifeboat/pass' });
  assert.deepEqual(
    { ...plan.repositories['main']?.location },
    { type: 'local', path: '/mnt/backup' },
  );
});

test('an inline password is refused without echoing it', () => {
  const issues = issuesOf(changed(['repositories.main.password', 'hunter2-secret']));
  assert.equal(issues.length, 1);
  assert.equal(issues[0]?.path, 'repositories.main.password');
  assert.match(issues[0]?.message ?? '', /\{ env: .*\{ file: /);
  assert.doesNotMatch(JSON.stringify(issues), /hunter2/);
});

test('password references report the branch that was meant', () => {
  const at = 'repositories.main.password';
  assertIssue(changed([at, { env: 5 }]), `${at}.env`, 'expected a string, got a number');
  assertIssue(changed([at, { file: 'etc/pass' }]), `${at}.file`, 'must be an absolute path');
  assertIssue(changed([at, { env: 'A', file: '/b' }]), at, 'exactly one of');
  assertIssue(changed([at, {}]), at, 'exactly one of');
  assertIssue(changed([at, { env: '1BAD' }]), `${at}.env`, 'environment variable name');
  assertIssue(changed([at, { env: 'A', extra: 1 }]), `${at}.extra`, 'unknown key "extra"');
});

test('schema errors name the path', () => {
  const cases: [string, [string, unknown], string, string][] = [
    [
      'unknown nested key',
      ['services.web.source.pth', '/x'],
      'services.web.source.pth',
      'unknown key "pth"',
    ],
    ['unknown top key', ['schedule', {}], 'schedule', 'unknown key "schedule"'],
    [
      'wrong type',
      ['services.db.source.oneFileSystem', 'yes'],
      'services.db.source.oneFileSystem',
      'expected a boolean, got a string',
    ],
    [
      'list expected',
      ['services.web.dependsOn', 'db'],
      'services.web.dependsOn',
      'expected a list, got a string',
    ],
    [
      'mapping expected',
      ['services.web.source', null],
      'services.web.source',
      'expected a mapping, got nothing (null)',
    ],
    [
      'relative path',
      ['services.web.source.path', 'srv/web'],
      'services.web.source.path',
      'must be an absolute path',
    ],
    [
      'missing key',
      ['services.web.source.path', DELETE],
      'services.web.source.path',
      'is required',
    ],
    [
      'unknown source type',
      ['services.web.source.type', 'mysql'],
      'services.web.source.type',
      'unknown type "mysql": expected one of "directory"',
    ],
    [
      'missing source type',
      ['services.web.source.type', DELETE],
      'services.web.source.type',
      'is required',
    ],
    ['bad service name', ['services.Web', {}], 'services.Web', '"Web" is not a valid name'],
    ['bad duration', ['tiers.critical.rto', '15 min'], 'tiers.critical.rto', 'positive duration'],
    ['zero duration', ['tiers.critical.rpo', '0s'], 'tiers.critical.rpo', 'positive duration'],
    [
      'huge duration',
      ['tiers.critical.rpo', '99999999999999999w'],
      'tiers.critical.rpo',
      'too large',
    ],
    ['version', ['version', 2], 'version', 'must be 1'],
    ['no services', ['services', {}], 'services', 'at least one service'],
    [
      'remote url',
      ['repositories.main.url', 'sftp:host:/x'],
      'repositories.main.url',
      'absolute path',
    ],
    ['tag with comma', ['services.db.tags', ['a,b']], 'services.db.tags[0]', 'without commas'],
    [
      'empty exclude',
      ['services.db.source.exclude', ['']],
      'services.db.source.exclude[0]',
      'must not be empty',
    ],
  ];
  for (const [what, change, path, fragment] of cases) {
    const issues = issuesOf(changed(change));
    assert.equal(issues.length, 1, `${what}: ${JSON.stringify(issues)}`);
    assert.equal(issues[0]?.path, path, what);
    assert.ok(issues[0]?.message.includes(fragment), `${what}: "${issues[0]?.message}"`);
  }
});

test('an empty or non-mapping plan says so', () => {
  assertIssue(null, '', 'the plan is empty');
  assertIssue([], '', 'expected a mapping, got a list');
});

test('cross-references are checked', () => {
  const web = 'services.web';
  assertIssue(
    changed([`${web}.tier`, 'gold']),
    `${web}.tier`,
    'unknown tier "gold" (known: critical)',
  );
  assertIssue(
    changed([`${web}.tier`, 'gold'], ['tiers', DELETE]),
    `${web}.tier`,
    'the plan defines no tiers',
  );
  assertIssue(
    changed([`${web}.repository`, 'offsite']),
    `${web}.repository`,
    'unknown repository "offsite"',
  );
  assertIssue(
    changed([`${web}.dependsOn`, ['db', 'cache']]),
    `${web}.dependsOn[1]`,
    'unknown service "cache"',
  );
  assertIssue(
    changed([`${web}.dependsOn`, ['web']]),
    `${web}.dependsOn[0]`,
    'cannot depend on itself',
  );
  assertIssue(
    changed([`${web}.dependsOn`, ['db', 'db']]),
    `${web}.dependsOn[1]`,
    'listed more than once',
  );
});

test('a dependency cycle is reported at the edge that closes it', () => {
  assertIssue(
    changed(['services.db.dependsOn', ['web']]),
    'services.db.dependsOn[0]',
    'dependency cycle: web → db → web',
  );
});

test('serviceOrder puts every dependency first, whatever the written order', () => {
  const plan = compilePlan(
    changed(
      ['services.web.dependsOn', ['api']],
      ['services.api', { dependsOn: ['db', 'cache'], source: { type: 'directory', path: '/a' } }],
      ['services.cache', { source: { type: 'directory', path: '/c' } }],
    ),
  );
  assert.deepEqual(plan.serviceOrder, ['db', 'cache', 'api', 'web']);
  for (const [index, name] of plan.serviceOrder.entries()) {
    for (const dep of plan.services[name]?.dependsOn ?? []) {
      assert.ok(plan.serviceOrder.indexOf(dep) < index, `${dep} before ${name}`);
    }
  }
});

test('several repositories need exactly one primary', () => {
  const raw = changed(['repositories.offsite', { url: '/mnt/offsite', password: { env: 'OFF' } }]);
  assertIssue(raw, 'repositories', 'none is the primary');

  edit(raw, ['repositories.offsite.primary', true]);
  const plan = compilePlan(raw);
  assert.equal(plan.primaryRepository, 'offsite');
  assert.equal(plan.repositories['main']?.primary, false);
  assert.equal(plan.services['web']?.repository, 'offsite');

  edit(raw, ['repositories.main.primary', true]);
  assertIssue(raw, 'repositories.offsite.primary', '"main" already is');
});

test('a service may name a repository that is not the primary', () => {
  const plan = compilePlan(
    changed(
      ['repositories.offsite', { url: '/mnt/offsite', password: { env: 'OFF' } }],
      ['repositories.main.primary', true],
      ['services.db.repository', 'offsite'],
    ),
  );
  assert.equal(plan.services['db']?.repository, 'offsite');
  assert.equal(plan.services['web']?.repository, 'main');
});

test('the only repository cannot be marked not primary', () => {
  assertIssue(
    changed(['repositories.main.primary', false]),
    'repositories.main.primary',
    'remove primary: false',
  );
});

test('all issues of a plan are reported together', () => {
  const raw = changed(
    ['services.web.source.path', 'relative'],
    ['services.db.extra', 1],
    ['repositories.main.password', 'inline'],
  );
  assert.deepEqual(
    issuesOf(raw)
      .map((i) => i.path)
      .sort(),
    ['repositories.main.password', 'services.db.extra', 'services.web.source.path'],
  );
});

function dirOf(plan: Plan, name: string): DirectorySource {
  const source = plan.services[name]?.source;
  if (source?.type !== 'directory') throw new Error(`service ${name} is not a directory`);
  return source;
}

function withSource(source: Record<string, unknown>): Record<string, unknown> {
  return {
    version: 1,
    repositories: { main: { url: '/srv/repo', password: { env: 'PW' } } },
    services: { db: { source } },
  };
}

test('database sources compile with defaults', () => {
  const pg = compilePlan(withSource({ type: 'postgres' })).services['db']?.source;
  assert.deepEqual(pg, {
    type: 'postgres',
    mode: 'logical',
    host: '127.0.0.1',
    port: 5432,
    user: 'postgres',
    wal: { mode: 'archive', slot: 'lifeboat' },
  });
  const phys = compilePlan(
    withSource({
      type: 'postgres',
      mode: 'physical',
      port: 5433,
      password: { file: '/etc/pw' },
      wal: { mode: 'stream' },
    }),
  ).services['db']?.source;
  assert.equal(phys?.type === 'postgres' && phys.mode, 'physical');
  assert.deepEqual(phys?.type === 'postgres' && phys.wal, { mode: 'stream', slot: 'lifeboat' });
  assert.deepEqual(compilePlan(withSource({ type: 'redis', port: 6380 })).services['db']?.source, {
    type: 'redis',
    host: '127.0.0.1',
    port: 6380,
  });
  assert.equal(compilePlan(withSource({ type: 'mariadb' })).services['db']?.source.type, 'mariadb');
  assert.equal(compilePlan(withSource({ type: 'mongodb' })).services['db']?.source.type, 'mongodb');
});

test('hostile database names, users and hosts are plan errors naming the path', () => {
  const hostile = ['-fx', "x' OR 1=1", 'host=evil dbname=postgres', 'app\nDROP', 'a'.repeat(65536)];
  for (const bad of hostile) {
    for (const [key, value, path] of [
      ['databases', [bad], 'services.db.source.databases[0]'],
      ['user', bad, 'services.db.source.user'],
      ['host', bad, 'services.db.source.host'],
    ] as const) {
      assert.throws(
        () => compilePlan(withSource({ type: 'postgres', [key]: value })),
        (e: unknown) => {
          assert.ok(isLifeboatError(e, 'INVALID_PLAN'));
          const issues = e.details['issues'] as PlanIssue[];
          assert.ok(
            issues.some((i) => i.path === path),
            `${JSON.stringify(bad.slice(0, 20))} as ${key}: ${JSON.stringify(issues)}`,
          );
          assert.ok(e.message.length < 2000, 'a 64 KiB input is not echoed whole');
          return true;
        },
      );
    }
  }
});

test('an inline database password is refused', () => {
  assert.throws(
    () => compilePlan(withSource({ type: 'postgres', password: 'hunter2' })),
    /inline passwords are not allowed/,
  );
});
