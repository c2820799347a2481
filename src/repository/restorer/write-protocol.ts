/** Messages between the restorer and its file-writing thread (see write-worker.ts). */
import type { ErrorCode } from '../../core/errors.js';
import type { TreeNode } from '../tree/node.js';

/** The node fields that metadata restoration reads. */
export type FileMeta = Pick<TreeNode, 'mode' | 'uid' | 'gid' | 'atime' | 'mtime'>;

export interface WriteJob {
  t: 'write';
  job: number;
  path: string;
  /** Transferred, not copied. */
  data: ArrayBuffer;
  meta: FileMeta;
  owner: boolean;
}

export type WriteResult =
  | { t: 'done'; job: number }
  /** `code`: errno code of a failed create or write; `lifeboat`: a metadata step failed. */
  | { t: 'error'; job: number; code: string; message: string; lifeboat?: LifeboatErrorData };

export interface LifeboatErrorData {
  code: ErrorCode;
  message: string;
  details: Record<string, unknown>;
}
