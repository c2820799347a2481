/**
 * Turns zod's issues into plan issues a person can act on: one issue per unknown key,
 * "is required" for a missing key, YAML words (mapping, list) for types, and for a union the
 * problem inside the branch the user evidently meant. Never echoes an input value except keys
 * and discriminators, which are names and not secrets (an inline password must not be shown).
 */
import type { z } from 'zod';
import type { PathIssue, PathSegment } from './issues.js';

type ZodIssue = z.core.$ZodIssue;

export function fromZodIssues(issues: readonly ZodIssue[]): PathIssue[] {
  const out: PathIssue[] = [];
  for (const issue of issues) convert(issue, [], out);
  return out;
}

function convert(issue: ZodIssue, prefix: readonly PathSegment[], out: PathIssue[]): void {
  const path = [...prefix, ...issue.path.map(toSegment)];
  switch (issue.code) {
    case 'unrecognized_keys':
      for (const key of issue.keys) {
        out.push({
          path: [...path, key],
          message: `unknown key ${JSON.stringify(key)}`,
          atKey: true,
        });
      }
      return;
    case 'invalid_type':
      out.push({
        path,
        message:
          issue.input === undefined
            ? 'is required'
            : `expected ${typeWord(issue.expected)}, got ${typeWord(typeOfValue(issue.input))}`,
      });
      return;
    case 'invalid_key': {
      const inner = issue.issues[0]?.message ?? issue.message;
      const key = path.at(-1);
      out.push({
        path,
        message: `${JSON.stringify(String(key))} is not a valid name: ${inner}`,
        atKey: true,
      });
      return;
    }
    case 'invalid_union':
      convertUnion(issue, path, out);
      return;
    case 'invalid_value':
    case 'too_big':
    case 'too_small':
    case 'invalid_format':
    case 'not_multiple_of':
    case 'invalid_element':
    case 'custom':
      // Our schema gives these checks their own messages.
      out.push({ path, message: issue.message });
      return;
  }
}

function convertUnion(
  issue: Extract<ZodIssue, { code: 'invalid_union' }>,
  path: PathSegment[],
  out: PathIssue[],
): void {
  if (issue.discriminator !== undefined) {
    // zod puts the discriminator's key on the path already; options lists the known values.
    const options = 'options' in issue && issue.options !== undefined ? issue.options : [];
    const known = options.map((o) => JSON.stringify(o)).join(', ');
    const value = isRecord(issue.input) ? issue.input[issue.discriminator] : undefined;
    out.push({
      path,
      message:
        value === undefined
          ? `is required (one of ${known})`
          : `unknown ${issue.discriminator} ${JSON.stringify(value)}: expected one of ${known}`,
    });
    return;
  }
  // The branch with strictly the fewest problems is the one that was meant ({ env: 5 } is an
  // env reference with a bad value, not a file reference missing `file`). With no clear
  // winner, the union's own message describes the choice.
  const counts = issue.errors.map((branch) => branch.length);
  const fewest = Math.min(...counts);
  const best = counts.filter((c) => c === fewest).length === 1 ? counts.indexOf(fewest) : -1;
  const branch = issue.errors[best];
  if (branch !== undefined && fewest > 0) {
    for (const inner of branch) convert(inner, path, out);
  } else {
    out.push({ path, message: issue.message });
  }
}

function toSegment(key: PropertyKey): PathSegment {
  return typeof key === 'number' ? key : String(key);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function typeOfValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

/** The words a YAML author uses: a mapping, a list. */
function typeWord(type: string): string {
  switch (type) {
    case 'object':
    case 'record':
      return 'a mapping';
    case 'array':
    case 'tuple':
      return 'a list';
    case 'null':
      return 'nothing (null)';
    case 'undefined':
      return 'nothing';
    case 'string':
    case 'number':
    case 'boolean':
      return `a ${type}`;
    default:
      return type;
  }
}
