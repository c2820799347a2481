import { findSnapshot } from '../../repository/snapshot.js';
import { walkTree } from '../../repository/restorer/walk.js';
import type { Register } from '../command-types.js';
import { withRepository } from '../context.js';

export const registerLs: Register = (program, wrap) => {
  program
    .command('ls')
    .description('list the files in a snapshot')
    .argument('<snapshot>', 'snapshot id, unique prefix, or "latest"')
    .argument('[dir]', 'only list below this path of the snapshot')
    .option('-l, --long', 'show mode, size and mtime')
    .action(
      wrap(async (ctx, ref, dir, flags) => {
        const long = (flags as { long?: boolean }).long ?? false;
        await withRepository(ctx, async (repo) => {
          await repo.loadIndex(ctx.signal);
          const snap = await findSnapshot(repo, ref as string);
          ctx.output.record('snapshot', {
            id: snap.id,
            time: snap.time,
            paths: snap.paths,
            tree: snap.tree,
          });
          ctx.output.text(
            `snapshot ${snap.id.slice(0, 8)} of [${snap.paths.join(' ')}] at ${snap.time}:`,
          );
          const prefix =
            typeof dir === 'string' ? '/' + dir.split('/').filter(Boolean).join('/') : '/';
          for await (const { path, node } of walkTree(repo, snap.tree, ctx.signal)) {
            if (prefix !== '/' && path !== prefix && !path.startsWith(prefix + '/')) continue;
            ctx.output.record('node', {
              path,
              name: node.name,
              nodeType: node.type,
              mode: node.mode,
              size: node.size ?? 0,
              mtime: node.mtime,
              uid: node.uid,
              gid: node.gid,
              ...(node.linktarget !== undefined ? { linktarget: node.linktarget } : {}),
            });
            if (!long) ctx.output.text(path);
            else {
              const size = String(node.size ?? 0).padStart(12);
              const link = node.type === 'symlink' ? ` -> ${node.linktarget ?? ''}` : '';
              ctx.output.text(
                `${node.type.padEnd(8)} ${(node.mode & 0o7777).toString(8).padStart(4, '0')} ${size} ${node.mtime} ${path}${link}`,
              );
            }
          }
        });
      }),
    );
};
