/**
 * Watches a tar stream go by and keeps the content of a few named members, without holding
 * the archive: the base backup's backup_label and backup_manifest say where its WAL starts
 * and ends (pg_basebackup -X none prints neither), and the stream itself must reach the
 * repository untouched. Understands the ustar/GNU headers pg_basebackup writes (src/port/tar.c).
 */
import { LifeboatError } from '../../core/errors.js';

const BLOCK = 512;

/** One member to keep: its first (`head`) or last (`tail`) `limit` bytes. */
export interface TarCapture {
  readonly name: string;
  readonly keep: 'head' | 'tail';
  readonly limit: number;
}

export interface TarWatcher {
  /** Feeds the next bytes of the archive. Throws INTEGRITY on a damaged header. */
  push(chunk: Uint8Array): void;
  /** Ends the archive; throws INTEGRITY unless it ended cleanly. Returns captured members. */
  finish(): Map<string, Buffer>;
}

function damaged(message: string): LifeboatError {
  return new LifeboatError('INTEGRITY', `base backup tar stream: ${message}`);
}

function text(block: Buffer, start: number, length: number): string {
  const field = block.subarray(start, start + length);
  const nul = field.indexOf(0);
  return field.subarray(0, nul === -1 ? length : nul).toString('utf8');
}

/** Size field: octal digits, or base-256 (high bit set) for members of 8 GiB and more. */
function sizeOf(block: Buffer): number {
  const field = block.subarray(124, 136);
  if ((field[0]! & 0x80) !== 0) {
    let n = 0n;
    for (let i = 1; i < field.length; i++) n = (n << 8n) | BigInt(field[i]!);
    if (n > BigInt(Number.MAX_SAFE_INTEGER)) throw damaged('member size out of range');
    return Number(n);
  }
  const digits = text(block, 124, 12).trim();
  if (!/^[0-7]+$/.test(digits)) throw damaged(`bad size field ${JSON.stringify(digits)}`);
  return parseInt(digits, 8);
}

function checksumOk(block: Buffer): boolean {
  const stored = text(block, 148, 8).trim();
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : block[i]!;
  return /^[0-7]+$/.test(stored) && parseInt(stored, 8) === sum;
}

export function createTarWatcher(captures: readonly TarCapture[]): TarWatcher {
  const wanted = new Map(captures.map((c) => [c.name, c]));
  const found = new Map<string, Buffer>();
  const header = Buffer.alloc(BLOCK);
  let headerFill = 0;
  let dataLeft = 0; // bytes of the current member still to come
  let padLeft = 0; // padding after it up to the next block boundary
  let current: { capture: TarCapture; parts: Buffer[]; size: number } | undefined;
  let ended = false;

  function keep(bytes: Buffer): void {
    if (!current) return;
    const { capture, parts } = current;
    if (capture.keep === 'head') {
      const room = capture.limit - current.size;
      if (room > 0) parts.push(Buffer.from(bytes.subarray(0, room)));
    } else {
      parts.push(Buffer.from(bytes.subarray(Math.max(0, bytes.length - capture.limit))));
      // Drop pieces no longer needed for the tail.
      let total = parts.reduce((n, p) => n + p.length, 0);
      while (parts.length > 1 && total - parts[0]!.length >= capture.limit)
        total -= parts.shift()!.length;
    }
    current.size += bytes.length;
  }

  function startMember(): void {
    if (header.every((b) => b === 0)) {
      ended = true;
      return;
    }
    if (!checksumOk(header))
      throw damaged('header checksum mismatch (not a tar archive, or damaged)');
    const prefix = text(header, 257, 6).startsWith('ustar') ? text(header, 345, 155) : '';
    const name = (prefix ? `${prefix}/` : '') + text(header, 0, 100);
    const size = sizeOf(header);
    dataLeft = size;
    padLeft = (BLOCK - (size % BLOCK)) % BLOCK;
    const capture = wanted.get(name.replace(/^\.\//, ''));
    current = capture ? { capture, parts: [], size: 0 } : undefined;
    if (dataLeft === 0) endMember();
  }

  function endMember(): void {
    if (current) {
      const all = Buffer.concat(current.parts);
      const { capture } = current;
      found.set(
        capture.name,
        capture.keep === 'head' ? all : all.subarray(Math.max(0, all.length - capture.limit)),
      );
    }
    current = undefined;
  }

  return {
    push(chunk) {
      let buf = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      while (buf.length > 0) {
        if (dataLeft > 0) {
          const n = Math.min(dataLeft, buf.length);
          keep(buf.subarray(0, n));
          dataLeft -= n;
          buf = buf.subarray(n);
          if (dataLeft === 0) endMember();
        } else if (padLeft > 0) {
          const n = Math.min(padLeft, buf.length);
          padLeft -= n;
          buf = buf.subarray(n);
        } else if (ended) {
          return; // end-of-archive blocks and record padding
        } else {
          const n = Math.min(BLOCK - headerFill, buf.length);
          buf.copy(header, headerFill, 0, n);
          headerFill += n;
          buf = buf.subarray(n);
          if (headerFill === BLOCK) {
            headerFill = 0;
            startMember();
          }
        }
      }
    },
    finish() {
      if (!ended) throw damaged('the archive ends without its end-of-archive block (truncated)');
      return found;
    },
  };
}
