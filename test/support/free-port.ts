/**
 * Loopback ports for throwaway test servers. Tests never use fixed ports: the machine may run
 * stock PostgreSQL, MariaDB and Redis on their default ports, and tests run in parallel.
 */
import { createConnection, createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

// Stock servers on this kind of machine; the kernel's ephemeral range never hands these out,
// but a custom ip_local_port_range could, so they are refused explicitly.
const RESERVED = new Set([3306, 5432, 6379]);

function bindZero(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * A TCP port on 127.0.0.1 that was free a moment ago: binds port 0, closes, returns the port.
 * Another process could take it before the caller binds it; with kernel-chosen ephemeral
 * ports that is rare, and the server starters report a bind failure clearly.
 */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await bindZero();
    if (port > 0 && !RESERVED.has(port)) return port;
  }
}

/** Whether something accepts TCP connections on 127.0.0.1:port right now. */
export function isPortOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Waits until nothing listens on 127.0.0.1:port; throws after timeoutMs. */
export async function waitPortClosed(port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (await isPortOpen(port)) {
    if (Date.now() > deadline) throw new Error(`port ${port} still accepts connections`);
    await sleep(20);
  }
}
