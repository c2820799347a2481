/**
 * Thread body: creates, writes, sets the metadata of and closes small restored files with
 * synchronous calls. On the main thread every one of these would be either a thread-pool round
 * trip (a queue lock and a wake-up each; with 20,000 small files that cost more system time
 * than the writes) or a synchronous call that stalls decryption whenever the file system is
 * slow to create a file. Here they are microseconds each and overlap the main thread's work.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { isLifeboatError } from '../../core/errors.js';
import { applyMetadataOnFd } from '../fs/apply-metadata.js';
import type { TreeNode } from '../tree/node.js';
import type { WriteJob, WriteResult } from './write-protocol.js';

const port = parentPort!;

port.on('message', (m: WriteJob) => {
  void write(m).then((r) => port.postMessage(r satisfies WriteResult));
});

async function write(m: WriteJob): Promise<WriteResult> {
  let fd: number;
  const data = new Uint8Array(m.data);
  try {
    // O_EXCL: never writes through something planted at the path.
    fd = openSync(m.path, 'wx', 0o600);
  } catch (err) {
    return errnoResult(m.job, err);
  }
  try {
    let at = 0;
    while (at < data.length) at += writeSync(fd, data, at, data.length - at);
    await applyMetadataOnFd(fd, m.path, m.meta as TreeNode, { owner: m.owner });
    return { t: 'done', job: m.job };
  } catch (err) {
    if (isLifeboatError(err)) {
      return {
        t: 'error',
        job: m.job,
        code: '',
        message: err.message,
        lifeboat: { code: err.code, message: err.message, details: { ...err.details } },
      };
    }
    return errnoResult(m.job, err);
  } finally {
    closeSync(fd);
  }
}

function errnoResult(job: number, err: unknown): WriteResult {
  const e = err as NodeJS.ErrnoException;
  return { t: 'error', job, code: e.code ?? '', message: e.message ?? String(err) };
}
