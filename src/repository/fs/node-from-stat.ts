/**
 * Builds a tree node from a file system entry exactly as restic 0.14's backup records it
 * (restic's NodeFromFileInfo and fillExtra), so that Lifeboat's trees for unchanged
 * directories are byte-identical to restic's and dedupe with them (RESTIC-FORMAT.md, "Trees").
 */
import { isUtf8 } from 'node:buffer';
import { lstatSync, readlinkSync } from 'node:fs';
import { LifeboatError } from '../../core/errors.js';
import { goLossyUtf8, INVALID_BYTE_MARK } from '../tree/go-string.js';
import { formatGoTime, splitNanoseconds } from '../tree/go-time.js';
import { goModeFromStat, nodeTypeFromGoMode, type TreeNode } from '../tree/node.js';
import { lookupGroupName, lookupUserName } from './user-names.js';

export interface NodeFromPathOptions {
  /**
   * Record the real access time. restic's backup does so only with --with-atime; by default
   * it stores the modification time as atime, so that reading files does not change trees.
   * Default false.
   */
  withAtime?: boolean;
}

function goTime(ns: bigint): string {
  const { sec, nsec } = splitNanoseconds(ns);
  return formatGoTime(sec, nsec);
}

function statError(err: unknown, path: string | Buffer, what: string): LifeboatError {
  const code = (err as NodeJS.ErrnoException).code;
  const shown = typeof path === 'string' ? path : goLossyUtf8(path);
  return new LifeboatError(
    code === 'ENOENT' ? 'NOT_FOUND' : 'IO',
    `${what} ${shown}: ${code ?? String(err)}`,
    { cause: err, details: { path: shown } },
  );
}

/**
 * The node for the entry at `path` (not followed if it is a symlink), named `name`.
 * Pass names as bytes when they may not be valid UTF-8 (readdir with encoding 'buffer').
 *
 * Fields as restic fills them: inode and device_id always; size and links for files; links
 * and linktarget for symlinks; links and device (st_rdev) for block and character devices;
 * nothing more for dirs, fifos and sockets. `content` is [] for files (the archiver appends
 * the data blob ids, as restic's file saver does) and null otherwise; `subtree` is left for
 * the archiver. Extended attributes are not read (Node has no xattr API), so entries that
 * carry xattrs produce trees that differ from restic's. Numbers above 2^53 (inode numbers on
 * some file systems) lose precision.
 *
 * Throws LifeboatError NOT_FOUND when the entry vanished, IO for other failures.
 *
 * lstat and readlink are synchronous: a few microseconds each on a local file system, while
 * an asynchronous call is a round trip through the libuv thread pool (a queue lock and a
 * wake-up) that the chunk workers' packs and compression also wait on; over a tree of
 * 20,000 files the round trips cost more than the calls (bench/).
 */
export async function nodeFromPath(
  path: string | Buffer,
  name: string | Uint8Array,
  opts: NodeFromPathOptions = {},
): Promise<TreeNode> {
  let st;
  try {
    st = lstatSync(path, { bigint: true });
  } catch (err) {
    throw statError(err, path, 'lstat');
  }
  const mode = goModeFromStat(Number(st.mode));
  const type = nodeTypeFromGoMode(mode);
  const mtime = goTime(st.mtimeNs);
  const uid = Number(st.uid);
  const gid = Number(st.gid);
  const node: TreeNode = {
    name: typeof name === 'string' ? name : goLossyUtf8(name),
    type,
    mode,
    mtime,
    atime: opts.withAtime === true ? goTime(st.atimeNs) : mtime,
    ctime: goTime(st.ctimeNs),
    uid,
    gid,
    content: type === 'file' ? [] : null,
  };
  if (typeof name !== 'string' && !isUtf8(name)) node.rawName = Buffer.from(name);
  const user = await lookupUserName(uid);
  if (user !== '') node.user = user;
  const group = await lookupGroupName(gid);
  if (group !== '') node.group = group;
  if (st.ino !== 0n) node.inode = Number(st.ino);
  if (st.dev !== 0n) node.device_id = Number(st.dev);

  switch (type) {
    case 'file':
      if (st.size !== 0n) node.size = Number(st.size);
      node.links = Number(st.nlink);
      break;
    case 'symlink': {
      let target: Buffer;
      try {
        target = readlinkSync(path, { encoding: 'buffer' });
      } catch (err) {
        throw statError(err, path, 'readlink');
      }
      // Go's JSON encoder replaces bytes that are not UTF-8 with U+FFFD one by one, so
      // restic stores such targets lossily; doing the same keeps the trees identical.
      const linktarget = goLossyUtf8(target, INVALID_BYTE_MARK);
      if (linktarget !== '') node.linktarget = linktarget;
      node.links = Number(st.nlink);
      break;
    }
    case 'dev':
    case 'chardev':
      if (st.rdev !== 0n) node.device = Number(st.rdev);
      node.links = Number(st.nlink);
      break;
    case 'dir':
    case 'fifo':
    case 'socket':
    case 'irregular':
      break;
  }
  return node;
}
