/**
 * `--cpu-prof` for the database benchmark: while a Lifeboat run of a step is measured, its
 * node gets `--cpu-prof --cpu-prof-dir=<profiles>/<step>` (a directory the postgres user may
 * write), so bench/profile.ts can later fold every thread's profile into the hot functions.
 */
import { join } from 'node:path';
import type { Commands } from './commands.js';

export class Profiler {
  constructor(
    private readonly cmd: Commands,
    /** Root of the per-step profile directories; undefined = profiling off. */
    readonly root: string | undefined,
  ) {}

  async around<T>(step: string, run: () => Promise<T>): Promise<T> {
    if (this.root === undefined) return run();
    this.cmd.nodeFlags = ['--cpu-prof', `--cpu-prof-dir=${join(this.root, step)}`];
    try {
      return await run();
    } finally {
      this.cmd.nodeFlags = [];
    }
  }
}
