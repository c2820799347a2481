/**
 * Turns what `redis-cli --rdb -` writes to stdout into a plain RDB file.
 *
 * With diskless replication (the default since Redis 7.0) the server frames the snapshot as
 * "$EOF:<40 random hex chars>\r\n<rdb><the same 40 chars>". redis-cli strips the prefix and
 * finds the end by the mark, but it removes the trailing mark only from a regular file (by
 * ftruncate); on stdout the 40 bytes stay (redis-cli 7.0.15, measured). An RDB file always ends
 * with the EOF opcode 0xFF and an 8-byte checksum, so its last 40 bytes can never all be hex
 * digits: when they are, they are the mark and are dropped. Disk-based replication sends a
 * plain "$<length>" bulk and no mark, and then nothing is dropped.
 */
import { LifeboatError } from '../../core/errors.js';

export const EOF_MARK_SIZE = 40;
const MAGIC = Buffer.from('REDIS');

function isEofMark(tail: Buffer): boolean {
  if (tail.length !== EOF_MARK_SIZE) return false;
  for (const b of tail) {
    const hex = (b >= 0x30 && b <= 0x39) || (b >= 0x61 && b <= 0x66);
    if (!hex) return false;
  }
  return true;
}

/**
 * Passes the bytes through, holding back the last 40 until the end. Throws TOOL_FAILED when the
 * output is empty (a redis-cli older than 7.0 writes to a file named "-" instead) and INTEGRITY
 * when it does not start like an RDB file.
 */
export async function* rdbFromReplicaStream(
  source: AsyncIterable<Uint8Array>,
  what: string,
): AsyncGenerator<Buffer> {
  let held = Buffer.alloc(0);
  let head = Buffer.alloc(0);
  for await (const chunk of source) {
    if (head.length < MAGIC.length) {
      head = Buffer.concat([head, chunk]).subarray(0, MAGIC.length);
      if (!MAGIC.subarray(0, head.length).equals(head)) {
        throw new LifeboatError('INTEGRITY', `${what}: the output does not start like an RDB file`);
      }
    }
    const buf = Buffer.concat([held, chunk]);
    if (buf.length > EOF_MARK_SIZE) {
      const cut = buf.length - EOF_MARK_SIZE;
      held = buf.subarray(cut);
      yield buf.subarray(0, cut);
    } else {
      held = buf;
    }
  }
  if (head.length < MAGIC.length) {
    throw new LifeboatError(
      'TOOL_FAILED',
      `${what}: redis-cli wrote no RDB to stdout (redis-cli 7.0 or newer is needed for --rdb -)`,
    );
  }
  if (!isEofMark(held) && held.length > 0) yield held;
}
