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
        await withRepository(ctx, async (repo) => {
          const snaps = (
            await loadAllSnapshots(repo, (id, err) =>
              ctx.output.warn(`snapshot ${id}`, String(err)),
            )
          ).filter((s) => matchesFilter(s, { tags: f.tag, hosts: f.host, paths: f.path }));
          if (ctx.output.json) {
            // One JSON array, like `restic snapshots --json`, so scripts can parse it whole.
            process.stdout.write(
              JSON.stringify(snaps.map((s) => ({ ...s, short_id: s.id.slice(0, 8) }))) + '\n',
            );
            return;
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
