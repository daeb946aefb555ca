// What the sandbox APIs (LINE, HubSpot) share over HTTP: their `/_sandbox/` control routes (no auth,
// no faults, no rate limits, not in the stats), and how they listen and say where.
import type { FastifyInstance } from 'fastify';

export function isControlPath(url: string): boolean {
  return url === '/_sandbox' || url.startsWith('/_sandbox/') || url.startsWith('/_sandbox?');
}

/** A sandbox API listening: its controls in-process, the same as its `/_sandbox/` routes over HTTP. */
export interface StartedSandbox<App extends FastifyInstance, Controls> {
  /** origin, e.g. http://127.0.0.1:3101: the service's base URL for the vendor */
  url: string;
  port: number;
  app: App;
  controls: Controls;
  close(): Promise<void>;
}

/** Listens on `port` (0: any free port) and `host` (default 127.0.0.1). */
export async function listenSandbox<App extends FastifyInstance, Controls>(app: App, controls: Controls, options: { port?: number; host?: string }): Promise<StartedSandbox<App, Controls>> {
  const host = options.host ?? '127.0.0.1';
  await app.listen({ port: options.port ?? 0, host });
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : (options.port ?? 0);
  const urlHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  return { url: `http://${urlHost}:${port}`, port, app, controls, close: () => app.close() };
}
