/**
 * Repository check (restic design: what `restic check` verifies). Structure: every index file
 * decodes, every indexed pack exists and is long enough, every snapshot decodes, every tree
 * reachable from a snapshot loads, and every blob a tree names is indexed. With read-data:
 * every selected pack hashes to its name, its header matches the index, and every blob in it
 * decrypts and hashes to its id. Problems name the pack, blob, tree, snapshot or index file.
 */
import { isLifeboatError, LifeboatError } from '../../core/errors.js';
import { mapLimit } from '../../core/concurrency.js';
import type { Progress } from '../../core/ports.js';
import { silentProgress } from '../../core/ports.js';
import { locatedIn, type BlobLocation, type PackedBlob } from '../blob.js';
import { decodeIndex } from '../index/index-file.js';
import type { Repository } from '../repository.js';
import { loadAllSnapshots } from '../snapshot.js';
import { decodeTree } from '../tree/tree-json.js';
import { CIPHERTEXT_OVERHEAD } from '../crypto/master-key.js';
import { locateInUnreferencedPacks } from './locate-missing.js';
import type { CheckProblem } from './problem.js';
import { packBuffers, verifyPackData } from './verify-pack.js';

/**
 * Packs up to this size share one buffer made at the start of --read-data (restic's own packs
 * are 16 MiB by default, 128 MiB at most).
 */
const PRESIZE_LIMIT = 256 * 1024 * 1024;
export type { CheckProblem } from './problem.js';

export interface CheckOptions {
  readData?: boolean;
  /** Fraction of packs (0–1] to read; implies readData. */
  readDataSubset?: number;
  progress?: Progress;
  signal?: AbortSignal;
}

export interface CheckResult {
  errors: CheckProblem[];
  /** Not damage: e.g. packs left by an interrupted backup, which prune would remove. */
  warnings: CheckProblem[];
  packs: number;
  packsRead: number;
  snapshots: number;
  trees: number;
  blobs: number;
}

export async function checkRepository(repo: Repository, opts: CheckOptions = {}) {
  const progress = opts.progress ?? silentProgress;
  const errors: CheckProblem[] = [];
  const warnings: CheckProblem[] = [];
  const packBlobs = new Map<string, PackedBlob[]>();

  progress.update({ phase: 'load indexes', filesDone: 0, bytesDone: 0 });
  const indexIds: string[] = [];
  for await (const id of repo.list('index', opts.signal)) indexIds.push(id);
  await mapLimit(indexIds, 4, async (indexId) => {
    try {
      const packs = decodeIndex(await repo.loadUnpacked('index', indexId, opts.signal), indexId);
      for (const p of packs) {
        repo.index.addPack(p.id, p.blobs);
        const list = packBlobs.get(p.id) ?? [];
        // A loop, not push(...blobs): a pack may list more blobs than a call takes arguments.
        for (const b of p.blobs) list.push(b);
        packBlobs.set(p.id, list);
      }
    } catch (err) {
      errors.push({ kind: 'index', indexId, message: prefixed(`index ${indexId}`, err) });
    }
  });

  progress.update({ phase: 'check packs', filesDone: 0, bytesDone: 0 });
  const stored = new Map<string, number>();
  for await (const f of repo.backend.list('pack', opts.signal)) stored.set(f.name, f.size);
  for (const [packId, blobs] of packBlobs) {
    const size = stored.get(packId);
    if (size === undefined) {
      errors.push({
        kind: 'missing-pack',
        packId,
        message: `pack ${packId}: missing, but the index lists ${blobs.length} blobs in it`,
      });
      continue;
    }
    let end = 0;
    for (const b of blobs) {
      end = Math.max(end, b.offset + b.length);
      // restic design: every encrypted blob carries a 16-byte IV and a 16-byte MAC.
      if (b.length < CIPHERTEXT_OVERHEAD) {
        errors.push({
          kind: 'index-entry',
          packId,
          blobId: b.id,
          message: `pack ${packId}, ${b.type} blob ${b.id}: the index gives it ${b.length} bytes, less than any encrypted blob`,
        });
      }
    }
    // The blobs are followed by the encrypted header (at least IV + MAC) and its length.
    const needed = end + CIPHERTEXT_OVERHEAD + 4;
    if (size < needed) {
      errors.push({
        kind: 'truncated-pack',
        packId,
        message:
          `pack ${packId}: truncated or wrongly indexed: ${size} bytes, ` +
          `but the index places blobs up to byte ${end} (at least ${needed} bytes with the header)`,
      });
    }
  }
  const unreferenced = new Map<string, number>();
  for (const [packId, size] of stored) {
    if (!packBlobs.has(packId)) {
      unreferenced.set(packId, size);
      warnings.push({
        kind: 'unreferenced-pack',
        packId,
        message: `pack ${packId}: not referenced in any index (left by an interrupted backup?)`,
      });
    }
  }

  progress.update({ phase: 'check snapshots', filesDone: 0, bytesDone: 0 });
  const snapshots = await loadAllSnapshots(repo, (snapshotId, err) =>
    errors.push({ kind: 'snapshot', snapshotId, message: prefixed(`snapshot ${snapshotId}`, err) }),
  );
  /** Blobs that snapshots need but no index lists, by type + id. */
  const unindexed = new Map<string, CheckProblem[]>();
  const noteUnindexed = (key: string, problem: CheckProblem) => {
    const list = unindexed.get(key) ?? [];
    list.push(problem);
    unindexed.set(key, list);
  };
  const seenTrees = new Set<string>();
  const queue: { treeId: string; snapshotId: string; path: string }[] = snapshots.map((s) => ({
    treeId: s.tree,
    snapshotId: s.id,
    path: '/',
  }));
  while (queue.length > 0) {
    const batch = queue.splice(0, 32).filter((t) => !seenTrees.has(t.treeId));
    for (const t of batch) seenTrees.add(t.treeId);
    await mapLimit(batch, 8, async ({ treeId, snapshotId, path }) => {
      let nodes;
      try {
        nodes = decodeTree(await repo.loadBlob('tree', treeId, opts.signal), treeId);
      } catch (err) {
        const problem: CheckProblem = {
          kind: 'tree',
          treeId,
          snapshotId,
          message: `tree ${treeId} (${path} in snapshot ${snapshotId.slice(0, 8)}): ${message(err)}`,
        };
        errors.push(problem);
        if (isLifeboatError(err, 'NOT_FOUND')) noteUnindexed('tree' + treeId, problem);
        return;
      }
      for (const n of nodes) {
        if (n.type === 'dir' && n.subtree) {
          queue.push({ treeId: n.subtree, snapshotId, path: `${path}${n.name}/` });
        }
        for (const blobId of n.content ?? []) {
          if (!repo.index.has('data', blobId)) {
            const problem: CheckProblem = {
              kind: 'missing-blob',
              treeId,
              blobId,
              snapshotId,
              message: `tree ${treeId}: file ${path}${n.name}: data blob ${blobId} is not in any index`,
            };
            errors.push(problem);
            noteUnindexed('data' + blobId, problem);
          }
        }
      }
    });
  }
  if (unindexed.size > 0 && unreferenced.size > 0) {
    progress.update({ phase: 'locate missing blobs', filesDone: 0, bytesDone: 0 });
    errors.push(...(await explainLostIndex(repo, unindexed, unreferenced, opts.signal)));
  }

  let packsRead = 0;
  const fraction = opts.readDataSubset ?? (opts.readData ? 1 : 0);
  if (fraction > 0) {
    const candidates = [...packBlobs.keys()].filter((p) => stored.has(p));
    const selected = fraction >= 1 ? candidates : sample(candidates, fraction);
    let bytesDone = 0;
    const bytesTotal = selected.reduce((a, p) => a + (stored.get(p) ?? 0), 0);
    // One pack at a time, into the same buffers (see verify-pack.ts); the pack buffer is made
    // once at the largest size, not grown pack by pack (each growth left the smaller one for
    // the collector: two pack-sized buffers at the peak). A pack past PRESIZE_LIMIT (damage,
    // or a hostile listing) is not allowed to fail the whole check here: it gets its own
    // buffer when its turn comes, where an error is reported against that pack.
    const largest = selected.reduce((a, p) => Math.max(a, stored.get(p) ?? 0), 0);
    const buffers = packBuffers(largest <= PRESIZE_LIMIT ? largest : 0);
    await mapLimit(selected, 1, async (packId) => {
      const locs: BlobLocation[] = (packBlobs.get(packId) ?? []).map((b) => locatedIn(b, packId));
      const size = stored.get(packId)!;
      for (const p of await verifyPackData(repo, packId, size, locs, buffers, opts.signal)) {
        errors.push(p);
      }
      packsRead++;
      bytesDone += stored.get(packId) ?? 0;
      progress.update({
        phase: 'read data',
        filesDone: packsRead,
        filesTotal: selected.length,
        bytesDone,
        bytesTotal,
      });
    });
  }

  return {
    errors,
    warnings,
    packs: stored.size,
    packsRead,
    snapshots: snapshots.length,
    trees: seenTrees.size,
    blobs: repo.index.size,
  } satisfies CheckResult;
}

function sample<T>(items: T[], fraction: number): T[] {
  const n = Math.max(1, Math.ceil(items.length * fraction));
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy.slice(0, n);
}

export function message(err: unknown): string {
  return err instanceof LifeboatError || err instanceof Error ? err.message : String(err);
}

/** `what: message`, without saying `what` twice when the error already starts with it. */
function prefixed(what: string, err: unknown): string {
  const text = message(err);
  return text.startsWith(what) ? text : `${what}: ${text}`;
}

/**
 * Blobs that no index lists while packs that no index lists exist: most likely an index file
 * is lost or damaged (restic design: the index only caches the pack headers). Reads those
 * packs' headers; where a missing blob turns up, its problems name the pack, and one more
 * problem says what happened and how to repair it.
 */
async function explainLostIndex(
  repo: Repository,
  unindexed: Map<string, CheckProblem[]>,
  unreferenced: Map<string, number>,
  signal: AbortSignal | undefined,
): Promise<CheckProblem[]> {
  const found = await locateInUnreferencedPacks(
    repo,
    unreferenced,
    new Set(unindexed.keys()),
    signal,
  );
  if (found.size === 0) return [];
  const packs = new Set<string>();
  for (const [key, packId] of found) {
    packs.add(packId);
    for (const p of unindexed.get(key) ?? []) {
      p.packId = packId;
      p.message += `; pack ${packId} holds it, but no index lists that pack`;
    }
  }
  const rest = unindexed.size - found.size;
  return [
    {
      kind: 'index',
      message:
        `${found.size} blob(s) that snapshots need are in no index but stored in ${packs.size} ` +
        `pack(s) that no index lists${rest > 0 ? ` (${rest} more are in no pack at all)` : ''}: ` +
        'an index file is missing or damaged. That data is still there; rebuilding the index ' +
        'from the packs (`restic rebuild-index`) makes it reachable again.',
    },
  ];
}
