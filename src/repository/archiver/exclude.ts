/**
 * Exclude patterns with restic's `--exclude` semantics: a pattern is split into path
 * components; `*`, `?` and `[…]` match within one component, `**` matches any number of
 * components. A pattern starting with `/` is anchored at the root; any other pattern may
 * match starting at any component (so `*.tmp` matches every .tmp file, `cache` every entry
 * named cache). Matching a directory excludes everything below it.
 */
import { LifeboatError } from '../../core/errors.js';

type Part = RegExp | '**';

export interface ExcludeMatcher {
  /** True when the absolute path `path` should be left out. */
  matches(path: string): boolean;
}

export function compileExcludes(patterns: readonly string[]): ExcludeMatcher {
  const compiled = patterns.map((p) => compilePattern(p));
  return {
    matches(path: string) {
      if (compiled.length === 0) return false;
      const parts = path.split('/').filter((s) => s !== '');
      return compiled.some(({ anchored, parts: pat }) => {
        if (anchored) return matchFrom(pat, 0, parts, 0);
        for (let start = 0; start < parts.length; start++) {
          if (matchFrom(pat, 0, parts, start)) return true;
        }
        return false;
      });
    },
  };
}

function compilePattern(pattern: string): { anchored: boolean; parts: Part[] } {
  const trimmed = pattern.trim();
  if (trimmed === '') throw new LifeboatError('INVALID_ARGUMENT', 'empty exclude pattern');
  const anchored = trimmed.startsWith('/');
  const parts = trimmed
    .split('/')
    .filter((s) => s !== '')
    .map((s): Part => (s === '**' ? '**' : componentRegExp(s, pattern)));
  return { anchored, parts };
}

/** A pattern matches when all its parts are consumed; the rest of the path lies below it. */
function matchFrom(pat: Part[], pi: number, parts: string[], si: number): boolean {
  if (pi === pat.length) return true;
  const p = pat[pi]!;
  if (p === '**') {
    for (let k = si; k <= parts.length; k++) if (matchFrom(pat, pi + 1, parts, k)) return true;
    return false;
  }
  if (si >= parts.length || !p.test(parts[si]!)) return false;
  return matchFrom(pat, pi + 1, parts, si + 1);
}

function componentRegExp(glob: string, pattern: string): RegExp {
  let re = '^';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else if (c === '[') {
      const end = glob.indexOf(']', i + 2);
      if (end < 0) throw new LifeboatError('INVALID_ARGUMENT', `unclosed [ in exclude ${pattern}`);
      let body = glob.slice(i + 1, end);
      if (body.startsWith('!') || body.startsWith('^')) body = '^' + body.slice(1);
      re += '[' + body.replace(/\\/g, '\\\\') + ']';
      i = end;
    } else if (c === '\\' && i + 1 < glob.length) {
      re += escape(glob[++i]!);
    } else re += escape(c);
  }
  return new RegExp(re + '$', 's');
}

function escape(c: string): string {
  return /[.*+?^${}()|[\]\\]/.test(c) ? '\\' + c : c;
}
