/**
 * A backend that forwards every call to another. Decorators spread it and replace the
 * methods they change; spreading the inner backend itself would lose prototype methods of
 * class-based backends.
 */
import type { Backend } from '../backend.js';

export function forward(b: Backend): Backend {
  return {
    location: b.location,
    create: () => b.create(),
    hasConfig: () => b.hasConfig(),
    save: (h, data, options) => b.save(h, data, options),
    load: (h, range, signal) => b.load(h, range, signal),
    stat: (h) => b.stat(h),
    remove: (h) => b.remove(h),
    list: (type, signal) => b.list(type, signal),
    close: () => b.close(),
    ...(b.stage ? { stage: b.stage.bind(b) } : {}),
  };
}
