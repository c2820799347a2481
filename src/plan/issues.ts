import { LifeboatError } from '../core/errors.js';

/** One problem found in a plan, as reported to users (details.issues of INVALID_PLAN). */
export interface PlanIssue {
  /** Dotted path to the offending value, e.g. `services.web.dependsOn[0]`; '' for the root. */
  path: string;
  message: string;
  /** 1-based; present when the plan came from YAML text. */
  line?: number;
  column?: number;
}

export type PathSegment = string | number;

/** An issue before it is placed in a file: the path is still structured. */
export interface PathIssue {
  path: readonly PathSegment[];
  message: string;
  /** The key itself is wrong (unknown or badly named), so point at the key, not its value. */
  atKey?: boolean;
}

/** More issues than this are counted rather than listed in the message (details keep all). */
const MAX_LISTED = 50;

export function formatPath(path: readonly PathSegment[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (/^[A-Za-z0-9_-]+$/.test(segment)) out += out === '' ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}

/**
 * `lifeboat.yaml:12:7 services.web.source.path: must be an absolute path`, or without a
 * position `lifeboat.yaml: the plan is empty…`, or without a file `services.web: …`.
 */
export function formatIssue(issue: PlanIssue, fileName?: string): string {
  const subject = issue.path === '' ? issue.message : `${issue.path}: ${issue.message}`;
  if (fileName === undefined) return subject;
  if (issue.line === undefined) return `${fileName}: ${subject}`;
  const column = issue.column === undefined ? '' : `:${issue.column}`;
  return `${fileName}:${issue.line}${column} ${subject}`;
}

/** The INVALID_PLAN error: one issue per line, readable as is. */
export function invalidPlanError(issues: PlanIssue[], fileName?: string): LifeboatError {
  const lines = issues.slice(0, MAX_LISTED).map((issue) => formatIssue(issue, fileName));
  if (issues.length > MAX_LISTED) lines.push(`… and ${issues.length - MAX_LISTED} more problems`);
  return new LifeboatError('INVALID_PLAN', lines.join('\n'), {
    details: { ...(fileName === undefined ? {} : { file: fileName }), issues },
  });
}
