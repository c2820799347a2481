/**
 * Asks whether something accepts TCP connections on host:port, without speaking any protocol.
 * Used where no client tool can tell us (mongodump has no "ping"), and to refuse starting a
 * server on a port that is already taken (issue 3, TARGET_IN_USE).
 */
import { createConnection } from 'node:net';

export type ProbeResult =
  { readonly open: true } | { readonly open: false; readonly reason: string };

/** Connects and closes at once. Never throws; a timeout counts as closed. */
export function probeTcp(
  host: string,
  port: number,
  timeoutMs = 5000,
  signal?: AbortSignal,
): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    const finish = (result: ProbeResult) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      socket.destroy();
      resolve(result);
    };
    const onAbort = () => finish({ open: false, reason: 'cancelled' });
    const timer = setTimeout(
      () => finish({ open: false, reason: `no answer within ${timeoutMs} ms` }),
      timeoutMs,
    );
    signal?.addEventListener('abort', onAbort, { once: true });
    socket.once('connect', () => finish({ open: true }));
    socket.once('error', (e: NodeJS.ErrnoException) =>
      finish({ open: false, reason: e.code ?? e.message }),
    );
  });
}
