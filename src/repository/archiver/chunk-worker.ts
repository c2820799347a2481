/**
 * Worker thread body: reads a file (or /dev/stdin), cuts it into chunks with restic's
 * chunker, hashes each chunk and hands it to the main thread, which deduplicates and packs.
 * Reading, chunking and hashing are the CPU-heavy steps that must not share a core with the
 * rest, and files are independent, so several workers run side by side.
 *
 * Chunks travel through a ring in shared memory (chunk-ring.ts); only their place and id are
 * posted. A chunk that the shared KnownFilter says is new is usually compressed and encrypted
 * here, straight into the ring (seal.ts); the main thread then only copies it into a pack. A
 * large chunk goes as plaintext instead while the main thread has no other plaintext of this
 * worker's to seal: for a single stream, the main thread's core would otherwise sit idle.
 * Chunks that may be known go as plaintext too: the main thread knows for sure.
 *
 * Flow control is the ring: when the main thread falls behind, the ring fills and this
 * thread waits for it to release records, so a slow repository slows the reader instead of
 * filling memory.
 */
import { createHash } from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { GcPacer } from '../gc-pacer.js';
import { Chunker, MAX_CHUNK, MIN_CHUNK } from '../chunker/chunker.js';
import { parsePolynomial } from '../chunker/polynomial.js';
import { MasterKey } from '../crypto/master-key.js';
import { sealCapacity, sealInto } from '../pack/seal.js';
import type { ChunkWorkerData, JobEnd, JobMessage, ToMain, ToWorker } from './chunk-protocol.js';
import { RingWriter } from './chunk-ring.js';
import { KnownFilter } from './known-filter.js';

const READ_SIZE = 1024 * 1024;
const port = parentPort!;
const setup = workerData as ChunkWorkerData;
const pol = parsePolynomial(setup.polynomial);
const ring = new RingWriter(setup.ring);
const seal = setup.seal && {
  key: MasterKey.fromJSON(setup.seal.key),
  compression: setup.seal.compression,
  known: KnownFilter.attach(setup.seal.known),
};

const queue: { job: number; path: string }[] = [];
let running = false;

port.on('message', (m: ToWorker) => {
  queue.push(...m.jobs);
  if (!running) void drain();
});

/** Results not yet posted. */
let outbox: JobMessage[] = [];
let outBytes = 0;
const FLUSH_BYTES = 1024 * 1024;
const FLUSH_ITEMS = 64;

/**
 * Queues a result for the main thread. Batches go out when large enough, when the queue of
 * jobs runs dry and before this thread waits for room in the ring.
 */
function post(m: JobMessage): void {
  outbox.push(m);
  if (m.t === 'chunk') outBytes += m.size;
  if (outBytes >= FLUSH_BYTES || outbox.length >= FLUSH_ITEMS) flush();
}

function flush(): void {
  if (outbox.length === 0) return;
  port.postMessage({ t: 'batch', items: outbox } satisfies ToMain);
  outbox = [];
  outBytes = 0;
}

async function drain(): Promise<void> {
  running = true;
  while (queue.length > 0) {
    const { job, path } = queue.shift()!;
    runJob(job, path);
    if (queue.length === 0) flush();
    // Lets the main thread's next jobs in (messages are read only while this thread waits).
    await new Promise<void>((r) => setImmediate(r));
  }
  running = false;
}

/**
 * Reads straight into one reusable chunk buffer, so the worker allocates nothing per read:
 * each finished chunk is copied (or sealed) once, into the ring.
 */
const buf = Buffer.allocUnsafeSlow(MAX_CHUNK + READ_SIZE);

/*
 * File I/O here is synchronous on purpose: this thread does nothing else, and async calls
 * would each take a round trip through libuv's thread pool, which compression and the main
 * thread share (six round trips per small file made many-small-file trees slow).
 */
function runJob(job: number, path: string): void {
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
        emit(job, buf.subarray(0, cut));
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
    if (fill > 0) emit(job, buf.subarray(0, fill), { size: total, changed });
    else post({ t: 'done', job, size: total, changed });
  } catch (err) {
    if (err instanceof SealError) throw err;
    const e = err as NodeJS.ErrnoException;
    post({ t: 'error', job, code: e.code ?? '', syscall: e.syscall ?? '', message: e.message });
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Chunks shorter than this are always sealed here when new (one per small file). */
const SEAL_ALWAYS_BELOW = MIN_CHUNK;

/** Virtual ring ends of the plaintext records posted and maybe not yet released. */
const plaintextEnds: number[] = [];

/** True while the main thread still has plaintext of this worker's to store. */
function mainIsBusy(): boolean {
  const released = ring.releasedPosition();
  while (plaintextEnds.length > 0 && plaintextEnds[0]! <= released) plaintextEnds.shift();
  return plaintextEnds.length > 0;
}

/** Encryption leaves dead buffers behind: see gc-pacer.ts. */
const gcPacer = new GcPacer(4 * 1024 * 1024);

/** Sealing failed: not a problem with the file, the backup cannot go on. */
class SealError extends Error {}

/**
 * Hashes the chunk and puts it into the ring, sealed or as plaintext (see the top of this
 * file); `end` marks the file's last chunk. The caller may reuse `chunk` afterwards.
 */
function emit(job: number, chunk: Buffer, end?: JobEnd): void {
  const length = chunk.length;
  const id = createHash('sha256').update(chunk).digest('hex');
  const sealHere =
    seal !== undefined && !seal.known.mayHave(id) && (length < SEAL_ALWAYS_BELOW || mainIsBusy());
  let offset: number;
  let size = length;
  let uncompressed: number | undefined;
  if (sealHere) {
    const capacity = sealCapacity(length);
    offset = ring.reserve(capacity, flush);
    try {
      const dst = ring.bytes.subarray(offset, offset + capacity);
      ({ length: size, uncompressed } = sealInto(seal.key, 'data', chunk, seal.compression, dst));
    } catch (err) {
      flush();
      const message = `sealing a chunk failed: ${String(err)}`;
      port.postMessage({ t: 'fatal', message } satisfies ToMain);
      throw new SealError(message);
    }
    gcPacer.count(length);
  } else {
    offset = ring.reserve(length, flush);
    chunk.copy(ring.bytes, offset);
  }
  const ringEnd = ring.commit(size);
  if (!sealHere) plaintextEnds.push(ringEnd);
  post({ t: 'chunk', job, id, length, offset, size, ringEnd, sealed: sealHere, uncompressed, end });
}
