/**
 * Process-wide mem backends by name, so that `mem:<name>` opened twice (by a test and by the
 * code under test) is the same store, as two opens of one directory would be.
 */
import type { Backend } from '../backend.js';
import { createMemBackend } from './mem-backend.js';

const registry = new Map<string, Backend>();

export function getMemBackend(name: string): Backend {
  let backend = registry.get(name);
  if (backend === undefined) {
    backend = createMemBackend(name);
    registry.set(name, backend);
  }
  return backend;
}

/** Drops a named mem backend and its data; the next open starts empty. */
export function forgetMemBackend(name: string): void {
  registry.delete(name);
}
