/** Moving bytes between threads. */

/**
 * The buffer's bytes as an ArrayBuffer of their own, to transfer with postMessage: a Buffer
 * that is a slice of a larger one (Node's shared pool for small allocations) is copied, so the
 * larger one is never detached.
 */
export function ownArrayBuffer(b: Uint8Array): ArrayBuffer {
  if (
    b.byteOffset === 0 &&
    b.byteLength === b.buffer.byteLength &&
    b.buffer instanceof ArrayBuffer
  ) {
    return b.buffer;
  }
  const out = new ArrayBuffer(b.length);
  new Uint8Array(out).set(b);
  return out;
}
