/**
 * Index files (restic design, "Indexing"): which blobs lie where in which pack.
 * {"supersedes":[…]?, "packs":[{"id":…, "blobs":[{"id","type","offset","length",
 * "uncompressed_length"?}]}]}. Parsing validates everything: the file may be hostile.
 */
import { LifeboatError } from '../../core/errors.js';
import type { PackedBlob } from '../blob.js';
import { isId } from '../ids.js';

export interface IndexPack {
  id: string;
  blobs: PackedBlob[];
}

export function encodeIndex(packs: readonly IndexPack[]): unknown {
  return {
    packs: packs.map((p) => ({
      id: p.id,
      blobs: p.blobs.map((b) =>
        b.uncompressedLength === undefined
          ? { id: b.id, type: b.type, offset: b.offset, length: b.length }
          : {
              id: b.id,
              type: b.type,
              offset: b.offset,
              length: b.length,
              uncompressed_length: b.uncompressedLength,
            },
      ),
    })),
  };
}

export function decodeIndex(raw: unknown, indexId: string): IndexPack[] {
  const fail = (msg: string) =>
    new LifeboatError('INTEGRITY', `index ${indexId}: ${msg}`, { details: { indexId } });
  // restic design: v1 "legacy" indexes were a bare array of packs.
  const packsRaw: unknown = Array.isArray(raw) ? raw : (raw as { packs?: unknown } | null)?.packs;
  if (!Array.isArray(packsRaw)) throw fail('no "packs" array');
  const packs: IndexPack[] = [];
  for (const p of packsRaw as unknown[]) {
    const pr = p as { id?: unknown; blobs?: unknown } | null;
    if (!pr || !isId(pr.id)) throw fail('pack entry without a valid id');
    if (!Array.isArray(pr.blobs)) throw fail(`pack ${pr.id}: no "blobs" array`);
    const blobs: PackedBlob[] = [];
    for (const b of pr.blobs as unknown[]) {
      const br = b as Record<string, unknown> | null;
      if (!br || !isId(br.id)) throw fail(`pack ${pr.id}: blob entry without a valid id`);
      if (br.type !== 'data' && br.type !== 'tree') {
        throw fail(`blob ${br.id}: unknown type ${String(br.type)}`);
      }
      if (!isCount(br.offset) || !isCount(br.length)) {
        throw fail(`blob ${br.id}: offset/length are not non-negative integers`);
      }
      const blob: PackedBlob = { id: br.id, type: br.type, offset: br.offset, length: br.length };
      if (br.uncompressed_length !== undefined && br.uncompressed_length !== null) {
        if (!isCount(br.uncompressed_length)) throw fail(`blob ${br.id}: bad uncompressed_length`);
        blob.uncompressedLength = br.uncompressed_length;
      }
      blobs.push(blob);
    }
    packs.push({ id: pr.id, blobs });
  }
  return packs;
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}
