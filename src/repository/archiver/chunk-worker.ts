/**
 * Worker thread body: reads a file (or /dev/stdin), cuts it into chunks with restic's
 * chunker, hashes each chunk and posts it back to the main thread, which deduplicates and
 * packs. Reading, chunking and hashing are the CPU-heavy steps that must not share a core
 * with the rest, and files are independent, so several workers run side by side.
 *
 * Small chunks (a small file, a file's tail) that the shared KnownFilter says are new are
 * also compressed and encrypted here (seal.ts): done on the main thread, each would cost a
 * thread-pool round trip that weighs more than the work, and a tree of 20,000 small files made
 * the main thread the bottleneck. Large chunks go to the main thread as plaintext, which
 * compresses them on the thread pool, so one stream still uses two cores.
 *
 * Flow control: at most MAX_UNACKED chunks of a job are in flight; the main thread acks each
 * chunk once it has taken it, so a slow repository slows the reader instead of filling memory.
 * A file's last chunk ends its job and is not acked: the main thread hands out jobs only as
 * fast as it takes their results.
 */
import { createHash, webcrypto } from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { ownArrayBuffer } from '../../core/transfer.js';
import { Chunker, MAX_CHUNK, MIN_CHUNK } from '../chunker/chunker.js';
import { parsePolynomial } from '../chunker/polynomial.js';
import { MasterKey } from '../crypto/master-key.js';
import { sealBlob } from '../pack/seal.js';
import type { ChunkWorkerData, JobEnd, JobMessage, ToMain, ToWorker } from './chunk-protocol.js';
import { KnownFilter } from './known-filter.js';

const MAX_UNACKED = 2;
const READ_SIZE = 1024 * 1024;
const port = parentPort!;
const setup = workerData as ChunkWorkerData;
const pol = parsePolynomial(setup.polynomial);
const seal = setup.seal && {
  key: MasterKey.fromJSON(setup.seal.key),
  compression: setup.seal.compression,
  known: KnownFilter.attach(setup.seal.known),
};

const queue: { job: number; path: string }[] = [];
let running = false;
let unacked = 0;
let wake: (() => void) | undefined;

port.on('message', (m: ToWorker) => {
  if (m.t === 'ack') {
    unacked -= m.n;
    const w = wake;
    wake = undefined;
    w?.();
  } else {
    queue.push(...m.jobs);
    if (!running) void drain();
  }
});

/** Results not yet posted, and the buffers they transfer. */
let outbox: JobMessage[] = [];
let transfer: ArrayBuffer[] = [];
let outBytes = 0;
let flushQueued = false;
const FLUSH_BYTES = 1024 * 1024;
const FLUSH_ITEMS = 64;

/**
 * Queues a result for the main thread. The batch goes out when it is large enough, or when
 * this thread next waits (setImmediate runs before the event loop blocks), so nothing waits
 * in the outbox while the main thread waits for it.
 */
function post(m: JobMessage, buf?: ArrayBuffer): void {
  outbox.push(m);
  if (buf) {
    transfer.push(buf);
    outBytes += buf.byteLength;
  }
  if (outBytes >= FLUSH_BYTES || outbox.length >= FLUSH_ITEMS) flush();
  else if (!flushQueued) {
    flushQueued = true;
    setImmediate(flush);
  }
}

function flush(): void {
  flushQueued = false;
  if (outbox.length === 0) return;
  port.postMessage({ t: 'batch', items: outbox } satisfies ToMain, transfer);
  outbox = [];
  transfer = [];
  outBytes = 0;
}

async function drain(): Promise<void> {
  running = true;
  while (queue.length > 0) {
    const { job, path } = queue.shift()!;
    await runJob(job, path);
  }
  running = false;
}

/**
 * Reads straight into one reusable chunk buffer, so the worker allocates nothing per read:
 * only each finished chunk is copied out (once) into a buffer of its exact size, which is
 * transferred, not copied, to the main thread.
 */
const buf = Buffer.allocUnsafeSlow(MAX_CHUNK + READ_SIZE);

/*
 * File I/O here is synchronous on purpose: this thread does nothing else, and async calls
 * would each take a round trip through libuv's thread pool, which compression and the main
 * thread share (six round trips per small file made many-small-file trees slow).
 */
async function runJob(job: number, path: string): Promise<void> {
  let size = 0;
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    // fstat before and after reading, on the open file: a regular file that is written to
    // while we read it is stored as read, and the archiver warns (exit code 3).
    const before = fstatSync(fd, { bigint: true });
    const regular = before.isFile();
    const chunker = new Chunker(pol);
    let fill = 0; // bytes of the current chunk in buf
    let eof = false;
    while (!eof) {
      const bytesRead = readSync(fd, buf, fill, READ_SIZE, null);
      // A short read of a regular file is its end; pipes return what they have, so read on.
      if (
        bytesRead === 0 ||
        (regular && bytesRead < READ_SIZE && size + fill + bytesRead >= before.size)
      ) {
        eof = true;
      }
      let scanned = fill;
      fill += bytesRead;
      while (scanned < fill) {
        const cut = chunker.scan(buf, scanned, fill);
        if (cut < 0) break;
        await emit(job, buf.subarray(0, cut));
        size += cut;
        buf.copyWithin(0, cut, fill);
        fill -= cut;
        scanned = 0;
      }
    }
    let changed = false;
    const total = size + fill;
    if (regular) {
      const after = fstatSync(fd, { bigint: true });
      changed =
        after.mtimeNs !== before.mtimeNs ||
        after.size !== before.size ||
        after.size !== BigInt(total);
    }
    if (fill > 0) {
      await emit(job, buf.subarray(0, fill), { size: total, changed });
    } else {
      await lastPost;
      post({ t: 'done', job, size: total, changed });
    }
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    await lastPost.catch(() => undefined);
    post({ t: 'error', job, code: e.code ?? '', syscall: e.syscall ?? '', message: e.message });
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * The previous chunk's post, which the next one waits for: digests finish out of order, but
 * chunks must reach the main thread in file order.
 */
let lastPost: Promise<void> = Promise.resolve();

/** Chunks at least this large are hashed on the thread pool; smaller ones right here. */
const ASYNC_DIGEST = 256 * 1024;

/** Chunks shorter than this may be sealed here; longer ones are compressed on the thread pool. */
const SEAL_BELOW = MIN_CHUNK;

/**
 * Copies the chunk out and hashes it. A large chunk is hashed on the thread pool (WebCrypto's
 * digest runs there), so SHA-256 overlaps reading and chunking the next one; a small chunk
 * (a small file) is hashed at once: a thread-pool round trip per file costs more than the
 * hash, and 20,000 of them contend for the pool's queue lock. `end` marks the file's last
 * chunk. The chunk is copied before the first await, so the caller may reuse `chunk`.
 */
async function emit(job: number, chunk: Buffer, end?: JobEnd): Promise<void> {
  const length = chunk.length;
  const data = new ArrayBuffer(length);
  const copy = Buffer.from(data);
  copy.set(chunk);
  const id =
    length >= ASYNC_DIGEST
      ? webcrypto.subtle.digest('SHA-256', data).then((d) => Buffer.from(d).toString('hex'))
      : createHash('sha256').update(copy).digest('hex');
  if (!end) unacked++;
  lastPost = Promise.all([id, lastPost]).then(([hex]) => {
    let out = data;
    let sealed = false;
    let uncompressed: number | undefined;
    try {
      if (seal && length < SEAL_BELOW && !seal.known.mayHave(hex)) {
        const s = sealBlob(seal.key, 'data', copy, seal.compression);
        out = ownArrayBuffer(s.sealed);
        sealed = true;
        uncompressed = s.uncompressed;
      }
    } catch (err) {
      // Not a problem with the file: the backup cannot go on (see ChunkPool's onFatal).
      flush();
      port.postMessage({ t: 'fatal', message: `sealing a chunk failed: ${String(err)}` });
      return;
    }
    post({ t: 'chunk', job, id: hex, length, data: out, sealed, uncompressed, end }, out);
  });
  while (unacked >= MAX_UNACKED) await new Promise<void>((r) => (wake = r));
}
