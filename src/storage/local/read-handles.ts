/**
 * Open read handles of pack files, kept for reuse. Restores and checks read many small blobs
 * from the same few packs; opening and closing the file for each one tripled the file system
 * calls (measured: most of a many-small-files restore). Packs are written once and never
 * modified, so a cached handle always reads what a fresh one would; remove() drops it.
 */
import { open, type FileHandle } from 'node:fs/promises';

const MAX_OPEN = 32;

export class ReadHandles {
  private readonly handles = new Map<string, Promise<FileHandle>>();
  private readonly users = new Map<string, number>();

  /** Runs fn with an open handle of path (opened on first use, reused after). */
  async use<T>(path: string, fn: (fh: FileHandle) => Promise<T>): Promise<T> {
    let p = this.handles.get(path);
    if (p) {
      // Most recently used last, so eviction takes the oldest.
      this.handles.delete(path);
      this.handles.set(path, p);
    } else {
      p = open(path, 'r');
      this.handles.set(path, p);
      p.catch(() => this.handles.delete(path));
      this.evict();
    }
    const fh = await p;
    this.users.set(path, (this.users.get(path) ?? 0) + 1);
    try {
      return await fn(fh);
    } finally {
      const n = (this.users.get(path) ?? 1) - 1;
      if (n === 0) this.users.delete(path);
      else this.users.set(path, n);
      if (n === 0 && this.handles.get(path) !== p) await fh.close().catch(() => undefined);
    }
  }

  async drop(path: string): Promise<void> {
    const p = this.handles.get(path);
    if (!p) return;
    this.handles.delete(path);
    if (!this.users.has(path))
      await (await p.catch(() => undefined))?.close().catch(() => undefined);
  }

  async closeAll(): Promise<void> {
    const all = [...this.handles.keys()];
    await Promise.all(all.map((path) => this.drop(path)));
  }

  private evict(): void {
    for (const path of this.handles.keys()) {
      if (this.handles.size <= MAX_OPEN) return;
      void this.drop(path);
    }
  }
}
