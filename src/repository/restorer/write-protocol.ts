/** Messages between the restorer and its file-writing threads (see write-worker.ts). */
import type { ErrorCode } from '../../core/errors.js';
import type { BlobLocation } from '../blob.js';
import type { MasterKeyJSON } from '../crypto/master-key.js';
import type { TreeNode } from '../tree/node.js';

/** The node fields that metadata restoration reads. */
export type FileMeta = Pick<TreeNode, 'mode' | 'uid' | 'gid' | 'atime' | 'mtime'>;

export interface WriterData {
  key: MasterKeyJSON;
}

/** One small file: its content is one blob inside the batch's range, or nothing. */
export interface WriteFile {
  job: number;
  path: string;
  meta: FileMeta;
  owner: boolean;
  /** The blob and where it starts in `raw`; absent for an empty file. */
  blob?: { loc: BlobLocation; at: number };
}

export interface WriteBatch {
  /** Encrypted bytes read from one pack (transferred, not copied); absent if no file has content. */
  raw: ArrayBuffer | undefined;
  files: WriteFile[];
}

export type WriteResult =
  | { t: 'done'; job: number; size: number }
  /** `code`: errno code of a failed create or write; `lifeboat`: a damaged blob or a metadata step. */
  | { t: 'error'; job: number; code: string; message: string; lifeboat?: LifeboatErrorData };

export interface LifeboatErrorData {
  code: ErrorCode;
  message: string;
  details: Record<string, unknown>;
}
