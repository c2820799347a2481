/** What a backup did, for progress, the summary and the snapshot's `summary` field. */
import type { ProgressState } from '../../core/ports.js';

export interface ArchiveWarning {
  path: string;
  message: string;
}

export class ArchiveCounters {
  filesProcessed = 0;
  filesNew = 0;
  filesChanged = 0;
  filesUnmodified = 0;
  dirs = 0;
  others = 0;
  bytesProcessed = 0;
  readonly warnings: ArchiveWarning[] = [];
  filesTotal: number | undefined;
  bytesTotal: number | undefined;

  state(current?: string): ProgressState {
    const s: ProgressState = {
      phase: 'backup',
      filesDone: this.filesProcessed,
      bytesDone: this.bytesProcessed,
    };
    if (this.filesTotal !== undefined) s.filesTotal = this.filesTotal;
    if (this.bytesTotal !== undefined) s.bytesTotal = this.bytesTotal;
    if (current !== undefined) s.current = current;
    return s;
  }
}
