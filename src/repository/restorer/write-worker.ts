/**
 * Thread body: opens (decrypts, decompresses and verifies) the blobs of small restored files
 * and creates, writes, sets the metadata of and closes each file with synchronous calls. On
 * the main thread every file step would be either a thread-pool round trip (a queue lock and a
 * wake-up each; with 20,000 small files that cost more system time than the writes) or a
 * synchronous call that stalls everything else whenever the file system is slow to create a
 * file; opening 20,000 blobs there made the main thread the bottleneck of a restore.
 *
 * A blob is opened before its file is created, so damaged data never leaves a file behind.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { isLifeboatError } from '../../core/errors.js';
import { MasterKey } from '../crypto/master-key.js';
import { applyMetadataOnFd } from '../fs/apply-metadata.js';
import { openBlobInPlace } from '../open-blob.js';
import type { TreeNode } from '../tree/node.js';
import type { WriteBatch, WriteFile, WriteResult, WriterData } from './write-protocol.js';

const port = parentPort!;
const key = MasterKey.fromJSON((workerData as WriterData).key);

let chain: Promise<void> = Promise.resolve();

/**
 * Decompressed blobs land here, one after the other (grown to the largest): with the blobs
 * decrypted where they lie in the batch (this thread owns it), opening a file's blob allocates
 * nothing, so 20,000 small files leave no trail of dead buffers for the collector.
 */
const opened = { buffer: Buffer.alloc(0) };

port.on('message', (m: WriteBatch) => {
  chain = chain.then(async () => {
    const raw = m.raw ? Buffer.from(m.raw) : undefined;
    const results: WriteResult[] = [];
    for (const f of m.files) results.push(await write(f, raw));
    port.postMessage(results);
  });
});

async function write(f: WriteFile, raw: Buffer | undefined): Promise<WriteResult> {
  let data: Uint8Array;
  try {
    data = f.blob
      ? openBlobInPlace(
          key,
          f.blob.loc,
          raw!.subarray(f.blob.at, f.blob.at + f.blob.loc.length),
          opened,
        )
      : new Uint8Array(0);
  } catch (err) {
    return failure(f.job, err);
  }
  let fd: number;
  try {
    // O_EXCL: never writes through something planted at the path.
    fd = openSync(f.path, 'wx', 0o600);
  } catch (err) {
    return failure(f.job, err);
  }
  try {
    let at = 0;
    while (at < data.length) at += writeSync(fd, data, at, data.length - at);
    await applyMetadataOnFd(fd, f.path, f.meta as TreeNode, { owner: f.owner });
    return { t: 'done', job: f.job, size: data.length };
  } catch (err) {
    return failure(f.job, err);
  } finally {
    closeSync(fd);
  }
}

function failure(job: number, err: unknown): WriteResult {
  if (isLifeboatError(err)) {
    return {
      t: 'error',
      job,
      code: '',
      message: err.message,
      lifeboat: { code: err.code, message: err.message, details: { ...err.details } },
    };
  }
  const e = err as NodeJS.ErrnoException;
  return { t: 'error', job, code: e.code ?? '', message: e.message ?? String(err) };
}
