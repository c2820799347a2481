/**
 * A tree node as restic stores it in a tree blob (RESTIC-FORMAT.md, "Trees"). Field names are
 * the JSON keys; tree-json.ts writes them in restic's order with restic's omission rules.
 */
export type NodeType =
  'file' | 'dir' | 'symlink' | 'dev' | 'chardev' | 'fifo' | 'socket' | 'irregular';

export const NODE_TYPES: readonly NodeType[] = [
  'file',
  'dir',
  'symlink',
  'dev',
  'chardev',
  'fifo',
  'socket',
  'irregular',
];

export interface ExtendedAttribute {
  name: string;
  /** The attribute value, base64 (standard alphabet, padded) as Go encodes a []byte. */
  value: string;
}

export interface TreeNode {
  /**
   * The entry name. When the on-disk name is not valid UTF-8, this is a display form with
   * U+FFFD in place of the bad bytes and `rawName` holds the real bytes.
   */
  name: string;
  /** Only for names that are not valid UTF-8: the exact bytes, used for encoding and restore. */
  rawName?: Uint8Array;
  type: NodeType;
  /** Go os.FileMode: permission bits plus Go's type and setuid/setgid/sticky bits. */
  mode: number;
  /** RFC 3339 with nanoseconds, exactly as Go's time.Time marshals (see go-time.ts). */
  mtime: string;
  atime: string;
  ctime: string;
  uid: number;
  gid: number;
  user?: string;
  group?: string;
  inode?: number;
  /** st_dev of the file system holding the entry. */
  device_id?: number;
  size?: number;
  links?: number;
  linktarget?: string;
  /** Never filled by nodeFromPath: Node has no xattr API. Kept when decoded. */
  extended_attributes?: ExtendedAttribute[];
  /** st_rdev, for block and character devices. */
  device?: number;
  /** Data blob ids in file order; null for everything but files. */
  content: string[] | null;
  /** The tree blob id of a directory's contents. */
  subtree?: string;
  /** restic's per-node error text (omitempty); never written by Lifeboat, kept when decoded. */
  error?: string;
}

// Go's os.FileMode bits (Go os/types.go, io/fs). 1 << 31 does not fit a signed 32-bit JS
// integer, so the constants are plain numbers and all arithmetic below avoids bitwise ops on
// the high bit.
export const GO_MODE_DIR = 2 ** 31;
export const GO_MODE_SYMLINK = 2 ** 27;
export const GO_MODE_DEVICE = 2 ** 26;
export const GO_MODE_NAMED_PIPE = 2 ** 25;
export const GO_MODE_SOCKET = 2 ** 24;
export const GO_MODE_SETUID = 2 ** 23;
export const GO_MODE_SETGID = 2 ** 22;
export const GO_MODE_CHAR_DEVICE = 2 ** 21;
export const GO_MODE_STICKY = 2 ** 20;
export const GO_MODE_IRREGULAR = 2 ** 19;
export const GO_MODE_PERM = 0o777;

// Unix st_mode bits (Linux <sys/stat.h>).
const S_IFMT = 0o170000;
const S_IFSOCK = 0o140000;
const S_IFLNK = 0o120000;
const S_IFREG = 0o100000;
const S_IFBLK = 0o060000;
const S_IFDIR = 0o040000;
const S_IFCHR = 0o020000;
const S_IFIFO = 0o010000;
const S_ISUID = 0o4000;
const S_ISGID = 0o2000;
const S_ISVTX = 0o1000;

/**
 * Converts a Unix st_mode to a Go os.FileMode the way Go's os.Lstat does on Linux
 * (os/stat_linux.go): permission bits, one type bit (chardev = ModeDevice|ModeCharDevice),
 * then setuid/setgid/sticky. An unknown file type gets no type bit, so Go (and restic) see
 * it as a regular file.
 */
export function goModeFromStat(statMode: number): number {
  let mode = statMode & GO_MODE_PERM;
  switch (statMode & S_IFMT) {
    case S_IFBLK:
      mode += GO_MODE_DEVICE;
      break;
    case S_IFCHR:
      mode += GO_MODE_DEVICE + GO_MODE_CHAR_DEVICE;
      break;
    case S_IFDIR:
      mode += GO_MODE_DIR;
      break;
    case S_IFIFO:
      mode += GO_MODE_NAMED_PIPE;
      break;
    case S_IFLNK:
      mode += GO_MODE_SYMLINK;
      break;
    case S_IFSOCK:
      mode += GO_MODE_SOCKET;
      break;
    case S_IFREG:
    default:
      break;
  }
  if (statMode & S_ISGID) mode += GO_MODE_SETGID;
  if (statMode & S_ISUID) mode += GO_MODE_SETUID;
  if (statMode & S_ISVTX) mode += GO_MODE_STICKY;
  return mode;
}

/** Tests one Go FileMode bit; safe for bit 31, which JS bitwise operators would sign. */
export function hasGoModeBit(goMode: number, bit: number): boolean {
  return Math.floor(goMode / bit) % 2 === 1;
}

/**
 * The Unix permission bits for chmod from a Go FileMode, as Go's os.Chmod computes them
 * (syscallMode): the 0777 bits plus setuid/setgid/sticky.
 */
export function unixPermFromGoMode(goMode: number): number {
  let perm = goMode % 512; // low 9 bits; `%` keeps this exact for values above 2^31
  if (hasGoModeBit(goMode, GO_MODE_SETUID)) perm |= S_ISUID;
  if (hasGoModeBit(goMode, GO_MODE_SETGID)) perm |= S_ISGID;
  if (hasGoModeBit(goMode, GO_MODE_STICKY)) perm |= S_ISVTX;
  return perm;
}

/**
 * The node type restic derives from a Go FileMode (restic's nodeTypeFromFileInfo). restic
 * 0.14 has no name for ModeIrregular; newer versions call it "irregular", as we do.
 */
export function nodeTypeFromGoMode(goMode: number): NodeType {
  if (hasGoModeBit(goMode, GO_MODE_DIR)) return 'dir';
  if (hasGoModeBit(goMode, GO_MODE_SYMLINK)) return 'symlink';
  if (hasGoModeBit(goMode, GO_MODE_DEVICE)) {
    return hasGoModeBit(goMode, GO_MODE_CHAR_DEVICE) ? 'chardev' : 'dev';
  }
  if (hasGoModeBit(goMode, GO_MODE_NAMED_PIPE)) return 'fifo';
  if (hasGoModeBit(goMode, GO_MODE_SOCKET)) return 'socket';
  if (hasGoModeBit(goMode, GO_MODE_IRREGULAR)) return 'irregular';
  return 'file';
}

/** The exact bytes of a node's name: what sorting, encoding and restore use. */
export function nodeNameBytes(node: Pick<TreeNode, 'name' | 'rawName'>): Buffer {
  return node.rawName !== undefined ? Buffer.from(node.rawName) : Buffer.from(node.name, 'utf8');
}
