/** A Backend view that counts load() calls per file type (for tests that bound reads). */
import type { Backend } from '../backend.js';

export function countLoads(b: Backend): { backend: Backend; loads: Map<string, number> } {
  const loads = new Map<string, number>();
  const backend = new Proxy(b, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver) as unknown;
      if (prop === 'load' && typeof v === 'function') {
        return (...args: unknown[]) => {
          const h = args[0] as { type: string };
          loads.set(h.type, (loads.get(h.type) ?? 0) + 1);
          return (v as (...a: unknown[]) => unknown).apply(target, args);
        };
      }
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  return { backend, loads };
}
