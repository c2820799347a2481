import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isLifeboatError, type LifeboatError } from '../core/errors.js';
import type { PlanIssue } from './issues.js';
import { loadPlan, parsePlanText } from './load-plan.js';

// Line numbers below refer to this text; tests replace one line at a time.
const BASE = [
  'version: 1', //                                   1
  'repositories:', //                                2
  '  main:', //                                      3
  '    url: /var/backups/lifeboat', //               4
  '    password: { env: LIFEBOAT_PASSWORD }', //     5
  'tiers:', //                                       6
  '  critical: { rto: 15m, rpo: 5m }', //            7
  'services:', //                                    8
  '  db:', //                                        9
  '    source:', //                                  10
  '      type: directory', //                        11
  '      path: /srv/db', //                          12
  '  web:', //                                       13
  '    tier: critical', //                           14
  '    dependsOn: [db]', //                          15
  '    source:', //                                  16
  '      type: directory', //                        17
  '      path: /srv/web', //                         18
  '      exclude: ["*.tmp", cache/]', //             19
];

function withLine(line: number, text: string): string {
  const lines = [...BASE];
  lines[line - 1] = text;
  return `${lines.join('\n')}\n`;
}

function failure(text: string): LifeboatError {
  try {
    parsePlanText(text, 'lifeboat.yaml');
  } catch (err) {
    assert.ok(isLifeboatError(err, 'INVALID_PLAN'), `expected INVALID_PLAN, got ${String(err)}`);
    return err;
  }
  assert.fail('the plan was accepted');
}

/** Asserts that the only issue is at `path`, `line`:`column`, and shows in the message. */
function assertOnly(
  text: string,
  expected: { path: string; line: number; column: number; message: string },
): void {
  const err = failure(text);
  const issues = err.details['issues'] as PlanIssue[];
  assert.equal(issues.length, 1, JSON.stringify(issues));
  const [issue] = issues;
  assert.deepEqual(
    { path: issue?.path, line: issue?.line, column: issue?.column },
    { path: expected.path, line: expected.line, column: expected.column },
  );
  assert.ok(
    issue?.message.includes(expected.message),
    `"${issue?.message}" lacks "${expected.message}"`,
  );
  const where = `lifeboat.yaml:${expected.line}:${expected.column}`;
  assert.ok(
    err.message.startsWith(`${where} ${expected.path ? `${expected.path}: ` : ''}`),
    err.message,
  );
  assert.equal(err.details['file'], 'lifeboat.yaml');
}

test('the base plan parses, in dependency order', () => {
  const plan = parsePlanText(`${BASE.join('\n')}\n`, 'lifeboat.yaml');
  assert.deepEqual(plan.serviceOrder, ['db', 'web']);
  assert.deepEqual(plan.services['web']?.source, {
    type: 'directory',
    path: '/srv/web',
    exclude: ['*.tmp', 'cache/'],
    oneFileSystem: false,
  });
  assert.equal(plan.tiers['critical']?.rpoMs, 300_000);
  assert.ok(Object.isFrozen(plan.services['web']));
});

test('an unknown key at a nested level points at the key', () => {
  assertOnly(withLine(12, '      path: /srv/db\n      pth: /srv/db'), {
    path: 'services.db.source.pth',
    line: 13,
    column: 7,
    message: 'unknown key "pth"',
  });
});

test('a wrong type points at the value', () => {
  assertOnly(withLine(15, '    dependsOn: db'), {
    path: 'services.web.dependsOn',
    line: 15,
    column: 16,
    message: 'expected a list, got a string',
  });
});

test('a relative path points at the value', () => {
  assertOnly(withLine(18, '      path: srv/web'), {
    path: 'services.web.source.path',
    line: 18,
    column: 13,
    message: 'must be an absolute path',
  });
});

test('an inline password is refused without showing it', () => {
  const text = withLine(5, '    password: "s3cr3t-value"');
  assertOnly(text, {
    path: 'repositories.main.password',
    line: 5,
    column: 15,
    message: 'use { env: VARIABLE } or { file: /path/to/file }',
  });
  const err = failure(text);
  assert.doesNotMatch(`${err.message} ${JSON.stringify(err.details)}`, /s3cr3t/);
});

test('an unknown tier points at the value', () => {
  assertOnly(withLine(14, '    tier: gold'), {
    path: 'services.web.tier',
    line: 14,
    column: 11,
    message: 'unknown tier "gold"',
  });
});

test('a dependency cycle points at the edge that closes it', () => {
  const text = withLine(10, '    dependsOn: [web]\n    source:');
  assertOnly(text, {
    path: 'services.web.dependsOn[0]',
    line: 16,
    column: 17,
    message: 'dependency cycle: db → web → db',
  });
});

test('a missing key points at the key of its parent', () => {
  assertOnly(withLine(12, '      exclude: []'), {
    path: 'services.db.source.path',
    line: 10,
    column: 5,
    message: 'is required',
  });
});

test('a badly named service points at its name', () => {
  assertOnly(withLine(13, '  Web:'), {
    path: 'services.Web',
    line: 13,
    column: 3,
    message: '"Web" is not a valid name',
  });
});

test('a duplicate key is an error with its line', () => {
  assertOnly(withLine(12, '      path: /srv/db\n      path: /srv/db2'), {
    path: 'services.db.source.path',
    line: 13,
    column: 7,
    message: 'duplicate key "path"',
  });
});

test('a YAML syntax error has a line and column', () => {
  const err = failure(withLine(15, '    dependsOn: [db'));
  const issues = err.details['issues'] as PlanIssue[];
  assert.ok(issues.length >= 1);
  assert.equal(issues[0]?.line, 16);
  assert.equal(typeof issues[0]?.column, 'number');
  assert.match(err.message, /^lifeboat\.yaml:16:\d+ /);
});

test('a second YAML document is refused', () => {
  const err = failure(`${BASE.join('\n')}\n---\nversion: 1\n`);
  assert.match(err.message, /^lifeboat\.yaml:20:1 the plan must be a single YAML document/);
});

test('several issues come one per line, in file order', () => {
  let text = withLine(18, '      path: srv/web');
  text = text.replace('url: /var/backups/lifeboat', 'url: 5');
  text = text.replace('rto: 15m', 'rto: soon');
  const lines = failure(text).message.split('\n');
  assert.deepEqual(
    lines.map((l) => l.split(' ')[0]),
    ['lifeboat.yaml:4:10', 'lifeboat.yaml:7:20', 'lifeboat.yaml:18:13'],
  );
  assert.equal(
    lines[0],
    'lifeboat.yaml:4:10 repositories.main.url: expected a string, got a number',
  );
});

test('an empty file says the plan is empty', () => {
  assert.match(failure('# nothing yet\n').message, /^lifeboat\.yaml: the plan is empty/);
});

test('YAML 1.1 booleans are strings, so `yes` is a type error', () => {
  assertOnly(withLine(12, '      path: /srv/db\n      oneFileSystem: yes'), {
    path: 'services.db.source.oneFileSystem',
    line: 13,
    column: 22,
    message: 'expected a boolean, got a string',
  });
});

test('loadPlan reads a file, and a missing file is NOT_FOUND naming it', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'lifeboat-plan-'));
  try {
    const file = join(dir, 'lifeboat.yaml');
    await writeFile(file, `${BASE.join('\n')}\n`);
    const plan = await loadPlan(file);
    assert.equal(plan.primaryRepository, 'main');

    const missing = join(dir, 'absent.yaml');
    await assert.rejects(loadPlan(missing), (err: unknown) => {
      return isLifeboatError(err, 'NOT_FOUND') && err.message.includes(missing);
    });

    await writeFile(file, 'version: 2\n');
    await assert.rejects(loadPlan(file), (err: unknown) => {
      return (
        isLifeboatError(err, 'INVALID_PLAN') &&
        err.message.includes(`\n${file}:1:10 version: must be 1`)
      );
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('the example in docs/plan.md is a valid plan', async () => {
  const docs = await readFile(new URL('../../../docs/plan.md', import.meta.url), 'utf8');
  const example = /```yaml\n([\s\S]*?)```/.exec(docs)?.[1] ?? '';
  assert.ok(example.includes('services:'), 'docs/plan.md has no yaml example');
  const plan = parsePlanText(example, 'docs/plan.md');
  assert.equal(plan.primaryRepository, 'main');
  assert.equal(plan.services['app-config']?.repository, 'usb');
  assert.deepEqual(plan.serviceOrder, ['uploads', 'app-config']);
});
