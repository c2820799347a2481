/**
 * Which parts of a snapshot to restore. Include paths are snapshot paths (`/home/a/docs`);
 * an entry is restored when it is an included path or lies below one, and is only walked
 * through (created, without its own metadata) when it is an ancestor of one.
 */
export type Selection = 'restore' | 'descend' | 'skip';

export interface IncludeMatcher {
  select(snapshotPath: string): Selection;
}

export function compileIncludes(paths: readonly string[]): IncludeMatcher {
  const wanted = paths.map(
    (p) =>
      '/' +
      p
        .split('/')
        .filter((s) => s !== '')
        .join('/'),
  );
  if (wanted.length === 0 || wanted.includes('/')) return { select: () => 'restore' };
  return {
    select(path: string): Selection {
      let descend = false;
      for (const w of wanted) {
        if (path === w || path.startsWith(w + '/')) return 'restore';
        if (w.startsWith(path + '/')) descend = true;
      }
      return descend ? 'descend' : 'skip';
    },
  };
}
