/**
 * Snapshots (restic design, "Snapshots"): encrypted JSON naming the root tree, the backed-up
 * paths, host, user and tags. Field order follows restic's so the JSON reads the same.
 */
import { LifeboatError } from '../core/errors.js';
import { isId } from './ids.js';
import type { Repository } from './repository.js';
import { mapLimit } from '../core/concurrency.js';

export interface SnapshotSummary {
  files_new?: number;
  files_changed?: number;
  files_unmodified?: number;
  dirs_new?: number;
  data_added?: number;
  total_files_processed?: number;
  total_bytes_processed?: number;
  backup_start?: string;
  backup_end?: string;
}

export interface Snapshot {
  time: string;
  parent?: string;
  tree: string;
  paths: string[];
  hostname?: string;
  username?: string;
  uid?: number;
  gid?: number;
  excludes?: string[];
  tags?: string[];
  original?: string;
  program_version?: string;
  summary?: SnapshotSummary;
}

export interface StoredSnapshot extends Snapshot {
  id: string;
}

export function encodeSnapshot(s: Snapshot): Record<string, unknown> {
  const out: Record<string, unknown> = { time: s.time };
  if (s.parent) out.parent = s.parent;
  out.tree = s.tree;
  out.paths = s.paths;
  if (s.hostname) out.hostname = s.hostname;
  if (s.username) out.username = s.username;
  if (s.uid) out.uid = s.uid;
  if (s.gid) out.gid = s.gid;
  if (s.excludes?.length) out.excludes = s.excludes;
  if (s.tags?.length) out.tags = s.tags;
  if (s.original) out.original = s.original;
  if (s.program_version) out.program_version = s.program_version;
  if (s.summary) out.summary = s.summary;
  return out;
}

export function decodeSnapshot(raw: unknown, id: string): StoredSnapshot {
  const fail = (msg: string) =>
    new LifeboatError('INTEGRITY', `snapshot ${id}: ${msg}`, { details: { snapshotId: id } });
  if (typeof raw !== 'object' || raw === null) throw fail('not a JSON object');
  const r = raw as Record<string, unknown>;
  if (typeof r.time !== 'string' || Number.isNaN(Date.parse(r.time))) throw fail('bad time');
  if (!isId(r.tree)) throw fail('no valid tree id');
  if (!Array.isArray(r.paths) || !r.paths.every((p) => typeof p === 'string')) {
    throw fail('paths is not a list of strings');
  }
  const strings = (v: unknown, name: string): string[] | undefined => {
    if (v === undefined || v === null) return undefined;
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw fail(`bad ${name}`);
    return v;
  };
  const snap: StoredSnapshot = { id, time: r.time, tree: r.tree, paths: r.paths };
  if (isId(r.parent)) snap.parent = r.parent;
  if (typeof r.hostname === 'string') snap.hostname = r.hostname;
  if (typeof r.username === 'string') snap.username = r.username;
  if (typeof r.uid === 'number') snap.uid = r.uid;
  if (typeof r.gid === 'number') snap.gid = r.gid;
  const excludes = strings(r.excludes, 'excludes');
  if (excludes) snap.excludes = excludes;
  const tags = strings(r.tags, 'tags');
  if (tags) snap.tags = tags;
  if (isId(r.original)) snap.original = r.original;
  if (typeof r.program_version === 'string') snap.program_version = r.program_version;
  if (typeof r.summary === 'object' && r.summary !== null) {
    snap.summary = r.summary;
  }
  return snap;
}

export async function loadSnapshot(repo: Repository, id: string): Promise<StoredSnapshot> {
  return decodeSnapshot(await repo.loadUnpacked('snapshot', id), id);
}

/** Every snapshot, oldest first. Unreadable snapshots are reported to onError and skipped. */
export async function loadAllSnapshots(
  repo: Repository,
  onError?: (id: string, err: unknown) => void,
): Promise<StoredSnapshot[]> {
  const ids: string[] = [];
  for await (const id of repo.list('snapshot')) ids.push(id);
  const out: StoredSnapshot[] = [];
  await mapLimit(ids, 8, async (id) => {
    try {
      out.push(await loadSnapshot(repo, id));
    } catch (err) {
      if (!onError) throw err;
      onError(id, err);
    }
  });
  return out.sort((a, b) => Date.parse(a.time) - Date.parse(b.time) || cmp(a.id, b.id));
}

export interface SnapshotFilter {
  hosts?: readonly string[];
  tags?: readonly string[];
  paths?: readonly string[];
}

/** restic semantics: a snapshot matches a tag filter when it carries every listed tag. */
export function matchesFilter(s: Snapshot, f: SnapshotFilter): boolean {
  if (f.hosts?.length && !f.hosts.includes(s.hostname ?? '')) return false;
  if (f.tags?.length && !f.tags.every((t) => s.tags?.includes(t))) return false;
  if (f.paths?.length && !f.paths.every((p) => s.paths.includes(p))) return false;
  return true;
}

/**
 * Resolves "latest", a full id or a unique prefix (at least 4 hex digits) to one snapshot.
 */
export async function findSnapshot(
  repo: Repository,
  ref: string,
  filter: SnapshotFilter = {},
): Promise<StoredSnapshot> {
  if (ref === 'latest') {
    // A damaged snapshot file must not stop the restore of the newest good one.
    const all = (await loadAllSnapshots(repo, () => undefined)).filter((s) =>
      matchesFilter(s, filter),
    );
    const last = all.at(-1);
    if (!last) throw new LifeboatError('NOT_FOUND', 'no snapshot matches');
    return last;
  }
  if (!/^[0-9a-f]{4,64}$/.test(ref)) {
    throw new LifeboatError('INVALID_ARGUMENT', `"${ref}" is not a snapshot id or "latest"`);
  }
  const matches: string[] = [];
  for await (const id of repo.list('snapshot')) if (id.startsWith(ref)) matches.push(id);
  if (matches.length === 0) throw new LifeboatError('NOT_FOUND', `no snapshot with id ${ref}`);
  if (matches.length > 1) {
    throw new LifeboatError('INVALID_ARGUMENT', `snapshot prefix ${ref} is ambiguous`);
  }
  return loadSnapshot(repo, matches[0]!);
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
