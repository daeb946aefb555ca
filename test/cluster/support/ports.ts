import { createServer } from 'node:net';

const canBind = (port: number) =>
  new Promise<boolean>((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });

/** A loopback TCP port free right now (the caller binds it soon after). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * `n` distinct free ports below 32,768: Temporal stores membership ports in a PostgreSQL smallint,
 * so the kernel's ephemeral range (32,768 and up) would stop the server.
 */
export async function freeLowPorts(n: number, from = 20_000, to = 32_000): Promise<number[]> {
  const ports = new Set<number>();
  for (let tries = 0; ports.size < n; tries++) {
    if (tries > 10_000) throw new Error(`no ${n} free ports in ${from}-${to}`);
    const port = from + Math.floor(Math.random() * (to - from));
    if (!ports.has(port) && (await canBind(port))) ports.add(port);
  }
  return [...ports];
}

/** `n` distinct free ports. */
export async function freePorts(n: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < n) ports.add(await freePort());
  return [...ports];
}
