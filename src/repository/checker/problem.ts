/** One finding of check, naming the object it concerns. */
export interface CheckProblem {
  kind:
    | 'index'
    | 'index-entry'
    | 'missing-pack'
    | 'truncated-pack'
    | 'snapshot'
    | 'tree'
    | 'missing-blob'
    | 'pack-data'
    | 'unreferenced-pack';
  message: string;
  packId?: string;
  blobId?: string;
  treeId?: string;
  snapshotId?: string;
  indexId?: string;
}
