/**
 * An in-memory backend for tests, with the same semantics as the local one: write-once
 * saves, exact-range loads, NOT_FOUND for missing files, idempotent remove. Data is copied
 * on save and on load, because callers may reuse their buffers. Every method yields to the
 * event loop once, so concurrent callers interleave as they would with real I/O.
 */
import { setImmediate } from 'node:timers/promises';
import { LifeboatError } from '../../core/errors.js';
import { throwIfAborted } from '../abort.js';
import {
  saveParts,
  type SaveData,
  FILE_TYPES,
  type Backend,
  type FileInfo,
  type FileType,
  type Handle,
  type LoadRange,
  type SaveOptions,
} from '../backend.js';
import { checkHandle, relativePath, TYPE_DIRS } from '../handle.js';
import { checkRange, resolveRange } from '../load-range.js';
import { alreadyExistsError } from '../storage-errors.js';

let anonymous = 0;

export function createMemBackend(name?: string): Backend {
  const location = `mem:${name ?? `anonymous-${++anonymous}`}`;
  /** Keyed by the restic-layout path, so each file type has its own namespace. */
  const files = new Map<string, Buffer>();

  function get(h: Handle): Buffer {
    const data = files.get(relativePath(h));
    if (data === undefined) {
      throw new LifeboatError('NOT_FOUND', `${location}/${relativePath(h)} does not exist`, {
        details: { path: relativePath(h) },
      });
    }
    return data;
  }

  return {
    location,

    async create() {
      await setImmediate();
    },

    async hasConfig() {
      await setImmediate();
      return files.has('config');
    },

    async save(h: Handle, data: SaveData, options: SaveOptions = {}) {
      checkHandle(h);
      throwIfAborted(options.signal, `save ${relativePath(h)}`);
      const copy = Buffer.concat(saveParts(data).parts); // copied before yielding: the caller may reuse it
      await setImmediate();
      throwIfAborted(options.signal, `save ${relativePath(h)}`);
      const key = relativePath(h);
      if (files.has(key) && options.overwrite !== true) {
        throw alreadyExistsError(`${location}/${key}`);
      }
      files.set(key, copy);
    },

    async load(h: Handle, range?: LoadRange, signal?: AbortSignal) {
      checkHandle(h);
      const what = `${location}/${relativePath(h)}`;
      const r = checkRange(range, what);
      await setImmediate();
      throwIfAborted(signal, `load ${what}`);
      const data = get(h);
      const { offset, length } = resolveRange(r, data.byteLength, what);
      return Buffer.from(data.subarray(offset, offset + length));
    },

    async stat(h: Handle): Promise<FileInfo> {
      checkHandle(h);
      await setImmediate();
      return { name: h.type === 'config' ? 'config' : h.name, size: get(h).byteLength };
    },

    async remove(h: Handle) {
      checkHandle(h);
      await setImmediate();
      files.delete(relativePath(h));
    },

    async *list(type: FileType, signal?: AbortSignal): AsyncIterable<FileInfo> {
      if (!FILE_TYPES.includes(type)) {
        throw new LifeboatError('INVALID_ARGUMENT', `unknown file type ${JSON.stringify(type)}`);
      }
      await setImmediate();
      const prefix = type === 'config' ? undefined : `${TYPE_DIRS[type]}/`;
      const found: FileInfo[] = [];
      for (const [key, data] of files) {
        if (prefix === undefined ? key === 'config' : key.startsWith(prefix)) {
          found.push({ name: key.slice(key.lastIndexOf('/') + 1), size: data.byteLength });
        }
      }
      for (const info of found) {
        throwIfAborted(signal, `list ${location}`);
        yield info;
      }
    },

    async close() {
      // Data stays: a mem backend reopened by name (open-backend.ts) sees the same files.
    },
  };
}
