/**
 * A MongoDB server as a restore target (issue 3): each part is fed to `mongorestore --archive`
 * on stdin, with `--stopOnError` so a failed write fails the restore instead of being counted.
 *
 * Before anything is changed, the prelude of every part says which databases it writes, and
 * the prelude of a `mongodump --archive` of the target (read, then the dump is stopped) says
 * which collections the target already has: a database present on both refuses with
 * TARGET_NOT_EMPTY unless `force`, which adds `--drop` (each restored collection replaces the
 * existing one). admin, config and local are not counted: every server has them.
 *
 * Untested against a real server (none could be installed where this was written).
 */
import { LifeboatError } from '../../core/errors.js';
import type { RestoreTarget } from '../engine.js';
import { runTool } from '../tool.js';
import { checkIdentifier } from '../validate.js';
import { readPrelude, type Prelude } from './archive-prelude.js';
import {
  checkMongoLogin,
  classifyMongo,
  mongoTool,
  where,
  withMongoArgsDo,
  type MongoLogin,
} from './connection.js';
import { ALL_PART, mongodump } from './source.js';

export interface MongoTarget extends MongoLogin {
  /** Restore over databases that already hold collections (mongorestore --drop). */
  readonly force?: boolean;
}

const SERVER_DATABASES = new Set(['admin', 'config', 'local']);

/** The database a `db-<name>.archive` part restores, or undefined for all.archive. */
function partDatabase(part: string, what: string): string | undefined {
  if (part === ALL_PART) return undefined;
  const m = /^db-(.+)\.archive$/.exec(part);
  if (m?.[1] === undefined) {
    throw new LifeboatError(
      'INVALID_ARGUMENT',
      `${what}: ${JSON.stringify(part)} is not a MongoDB part (all.archive or db-<name>.archive)`,
    );
  }
  return checkIdentifier(`${what}: database of part ${part}`, m[1]);
}

/** mongorestore arguments after the login ones. */
export function restoreArgs(database: string | undefined, force: boolean): string[] {
  return [
    '--archive',
    '--stopOnError',
    ...(force ? ['--drop'] : []),
    ...(database === undefined ? [] : [`--nsInclude=${database}.*`]),
  ];
}

export function createMongoTarget(target: MongoTarget, what = 'mongodb target'): RestoreTarget {
  checkMongoLogin(what, target);
  const at = where(target);
  const force = target.force === true;
  return {
    kind: 'mongodb',
    async restore(parts, read, signal) {
      if (new Set(parts).size !== parts.length) {
        throw new LifeboatError(
          'INVALID_ARGUMENT',
          `${what}: a part is given twice in ${JSON.stringify(parts)}`,
        );
      }
      const databases = parts.map((p) => partDatabase(p, what));
      const opened: Prelude[] = [];
      try {
        for (const part of parts)
          opened.push(await readPrelude(read(part, signal), `part ${part}`));

        // Everything is checked before anything is changed.
        const writes = new Set(
          opened
            .flatMap((p) => p.namespaces.map((n) => n.db))
            .filter((db) => !SERVER_DATABASES.has(db)),
        );
        const existing = await readPrelude(
          mongodump(target, `listing the collections on ${at}`, undefined, signal),
          `mongodump of ${at}`,
        );
        await existing.close();
        const clash = new Map<string, number>();
        for (const n of existing.namespaces) {
          if (writes.has(n.db) && !n.collection.startsWith('system.'))
            clash.set(n.db, (clash.get(n.db) ?? 0) + 1);
        }
        if (clash.size > 0 && !force) {
          const problems = [...clash].map(
            ([db, count]) => `database ${db} has ${count} collections`,
          );
          throw new LifeboatError(
            'TARGET_NOT_EMPTY',
            `${what} ${at} already holds data: ${problems.join('; ')}; restore elsewhere or set force to replace it`,
            {
              details: { target: at, problems },
            },
          );
        }

        const command = mongoTool('mongorestore', target.binDir);
        const notes: string[] = [];
        for (const [i, part] of parts.entries()) {
          const database = databases[i];
          await withMongoArgsDo(target, (args) =>
            runTool(
              {
                command,
                args: [...args, ...restoreArgs(database, force)],
                what: `mongorestore of ${part} into ${at}`,
                classify: classifyMongo,
              },
              { input: opened[i]!.stream, ...(signal ? { signal } : {}) },
            ),
          );
          notes.push(`restored ${part} into ${at}`);
        }
        return { parts: [...parts], notes };
      } finally {
        for (const p of opened) await p.close();
      }
    },
  };
}
