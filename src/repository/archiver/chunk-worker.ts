/**
 * Worker thread body: reads a file (or /dev/stdin), cuts it into chunks with restic's
 * chunker, hashes each chunk and posts it back to the main thread, which deduplicates,
 * compresses, encrypts and packs. Reading, chunking and hashing are the CPU-heavy steps that
 * must not share a core with the rest, and files are independent, so several workers run
 * side by side.
 *
 * Flow control: at most MAX_UNACKED chunks of a job are in flight; the main thread acks each
 * chunk once it has taken it, so a slow repository slows the reader instead of filling memory.
 */
import { createHash, webcrypto } from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { Chunker, MAX_CHUNK } from '../chunker/chunker.js';
import { parsePolynomial } from '../chunker/polynomial.js';
import type { ToMain, ToWorker } from './chunk-protocol.js';

const MAX_UNACKED = 2;
const READ_SIZE = 1024 * 1024;
const port = parentPort!;
const pol = parsePolynomial((workerData as { polynomial: string }).polynomial);

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
    queue.push({ job: m.job, path: m.path });
    if (!running) void drain();
  }
});

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
    if (fill > 0) {
      await emit(job, buf.subarray(0, fill));
      size += fill;
    }
    let changed = false;
    if (regular) {
      const after = fstatSync(fd, { bigint: true });
      changed =
        after.mtimeNs !== before.mtimeNs ||
        after.size !== before.size ||
        after.size !== BigInt(size);
    }
    await lastPost;
    port.postMessage({ t: 'done', job, size, changed } satisfies ToMain);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    await lastPost.catch(() => undefined);
    port.postMessage({
      t: 'error',
      job,
      code: e.code ?? '',
      syscall: e.syscall ?? '',
      message: e.message,
    } satisfies ToMain);
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

/**
 * Copies the chunk out and hashes it. A large chunk is hashed on the thread pool (WebCrypto's
 * digest runs there), so SHA-256 overlaps reading and chunking the next one; a small chunk
 * (a small file) is hashed at once: a thread-pool round trip per file costs more than the
 * hash, and 20,000 of them contend for the pool's queue lock.
 */
async function emit(job: number, chunk: Buffer): Promise<void> {
  const data = new ArrayBuffer(chunk.length);
  new Uint8Array(data).set(chunk);
  const id =
    chunk.length >= ASYNC_DIGEST
      ? webcrypto.subtle.digest('SHA-256', data).then((d) => Buffer.from(d).toString('hex'))
      : createHash('sha256').update(chunk).digest('hex');
  unacked++;
  lastPost = Promise.all([id, lastPost]).then(([hex]) => {
    port.postMessage({ t: 'chunk', job, id: hex, data } satisfies ToMain, [data]);
  });
  while (unacked >= MAX_UNACKED) await new Promise<void>((r) => (wake = r));
}
