import { loadAllSnapshots, matchesFilter } from '../../repository/snapshot.js';
import type { Register } from '../command-types.js';
import { withRepository } from '../context.js';

const collect = (v: string, prev: string[]) => [...prev, ...v.split(',').filter(Boolean)];

export const registerSnapshots: Register = (program, wrap) => {
  program
    .command('snapshots')
    .description('list snapshots (filter by --tag, --host, --path)')
    .option(
      '--tag <tags>',
      'only snapshots with all these tags (comma list, repeatable)',
      collect,
      [],
    )
    .option('--host <host>', 'only snapshots from this host (repeatable)', collect, [])
    .option('--path <path>', 'only snapshots including this path (repeatable)', collect, [])
    .action(
      wrap(async (ctx, flags) => {
        const f = flags as { tag: string[]; host: string[]; path: string[] };
        return withRepository(ctx, async (repo) => {
          // Damaged snapshot files are named and skipped; the rest are still listed, and the
          // exit code (1) says that something is wrong.
          let damaged = 0;
          const snaps = (
            await loadAllSnapshots(repo, (_id, err) => {
              damaged++;
              ctx.output.warn('snapshot', err instanceof Error ? err.message : String(err));
            })
          ).filter((s) => matchesFilter(s, { tags: f.tag, hosts: f.host, paths: f.path }));
          if (ctx.output.json) {
            // One JSON array, like `restic snapshots --json`, so scripts can parse it whole.
            process.stdout.write(
              JSON.stringify(snaps.map((s) => ({ ...s, short_id: s.id.slice(0, 8) }))) + '\n',
            );
            return damaged > 0 ? 1 : 0;
          }
          const rows = snaps.map((s) => [
            s.id.slice(0, 8),
            new Date(s.time).toISOString().replace('T', ' ').slice(0, 19),
            s.hostname ?? '',
            (s.tags ?? []).join(','),
            s.paths.join(', '),
          ]);
          ctx.output.text(table(['ID', 'Time', 'Host', 'Tags', 'Paths'], rows));
          ctx.output.text(`${snaps.length} snapshots`);
          return damaged > 0 ? 1 : 0;
        });
      }),
    );
};

export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  const sep = '-'.repeat(widths.reduce((a, w) => a + w + 2, -2));
  return [line(header), sep, ...rows.map(line), sep].join('\n');
}
