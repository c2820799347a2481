/**
 * Collects the young generation of this thread's heap on demand.
 *
 * Why: Node's cipher allocates a new buffer for each piece it encrypts, outside the V8 heap.
 * V8 frees such buffers only when it collects the small objects that hold them, and a thread
 * that seals chunks makes few small objects, so tens of MiB of dead buffers piled up between
 * collections in each chunk worker (measured: peak RSS of a 1 GiB tree backup 250 -> 216 MiB
 * with a collection every 4 MiB sealed). A young-generation collection of such a thread takes
 * well under a millisecond.
 *
 * `gc` is exposed by a V8 flag that applies to contexts created after it is set; a fresh vm
 * context picks it up.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

type Gc = (options: { type: 'minor' | 'major' }) => void;

let gc: Gc | undefined;

export function collectYoungGeneration(): void {
  if (!gc) {
    setFlagsFromString('--expose-gc');
    gc = runInNewContext('gc') as Gc;
  }
  gc({ type: 'minor' });
}

/** Calls collectYoungGeneration() each time `every` more bytes have been counted. */
export class GcPacer {
  private bytes = 0;

  constructor(
    private readonly every: number,
    private readonly collect: () => void = collectYoungGeneration,
  ) {}

  count(bytes: number): void {
    this.bytes += bytes;
    if (this.bytes < this.every) return;
    this.bytes = 0;
    this.collect();
  }
}
