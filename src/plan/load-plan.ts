/**
 * Reads lifeboat.yaml: YAML syntax errors and schema issues alike come back as one
 * INVALID_PLAN error whose message lists `file:line:column path: message`, one per line.
 */
import { readFile } from 'node:fs/promises';
import { LineCounter, parseDocument, type Document, type YAMLError } from 'yaml';
import { LifeboatError } from '../core/errors.js';
import { validatePlan } from './compile-plan.js';
import { formatPath, invalidPlanError, type PathIssue, type PlanIssue } from './issues.js';
import type { Plan } from './plan.js';
import { pathAtOffset, positionOfPath } from './yaml-positions.js';

/** Reads and compiles a plan file. Throws NOT_FOUND, IO or INVALID_PLAN. */
export async function loadPlan(file: string): Promise<Plan> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new LifeboatError('NOT_FOUND', `plan file not found: ${file}`, {
        cause: err,
        details: { file },
      });
    }
    const reason = err instanceof Error ? err.message : String(err);
    throw new LifeboatError('IO', `cannot read plan file ${file}: ${reason}`, {
      cause: err,
      details: { file },
    });
  }
  return parsePlanText(text, file);
}

/** Parses and compiles plan text; `fileName` only labels the messages. Throws INVALID_PLAN. */
export function parsePlanText(text: string, fileName: string): Plan {
  const lineCounter = new LineCounter();
  // YAML 1.2 core schema (yaml's default): `yes` is a string, not a boolean, so a typo in a
  // boolean is an error rather than a surprise. Duplicate keys are errors, not last-one-wins.
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw invalidPlanError(
      doc.errors.map((error) => yamlIssue(error, doc, lineCounter)),
      fileName,
    );
  }
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    // yaml refuses alias expansions that would blow up memory ("billion laughs").
    const reason = err instanceof Error ? err.message : String(err);
    throw invalidPlanError([{ path: '', message: `cannot read the YAML: ${reason}` }], fileName);
  }
  const result = validatePlan(raw);
  if (result.ok) return result.plan;
  const issues = result.issues.map((issue) => placeIssue(issue, doc, lineCounter));
  issues.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
  throw invalidPlanError(issues, fileName);
}

function placeIssue(issue: PathIssue, doc: Document, lineCounter: LineCounter): PlanIssue {
  const position = positionOfPath(doc, lineCounter, issue.path, issue.atKey ?? false);
  return {
    path: formatPath(issue.path),
    message: issue.message,
    ...(position === undefined ? {} : { line: position.line, column: position.column }),
  };
}

function yamlIssue(error: YAMLError, doc: Document, lineCounter: LineCounter): PlanIssue {
  const path = pathAtOffset(doc, error.pos[0]);
  const { line, col } = lineCounter.linePos(error.pos[0]);
  let message = error.message;
  if (error.code === 'DUPLICATE_KEY' && path.length > 0) {
    message = `duplicate key ${JSON.stringify(String(path.at(-1)))}: a key may appear only once in a mapping`;
  } else if (error.code === 'MULTIPLE_DOCS') {
    message = 'the plan must be a single YAML document; remove the second "---" and what follows';
  }
  return { path: formatPath(path), message, line, column: col };
}
