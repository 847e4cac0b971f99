import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

/** What /readyz reports. `degraded` is set when serving, but only through fallback rules. */
export interface Readiness {
  ready: boolean;
  reason: string;
  degraded?: string;
}

/** What /healthz reports: whether the pipeline still makes progress (liveness.ts). */
export interface Liveness {
  live: boolean;
  reason: string;
}

export interface HttpServerOptions {
  host: string;
  port: number;
  registry: Registry;
  readiness(): Readiness;
  liveness(): Liveness;
}

export interface RuntimeHttpServer {
  port: number;
  close(): Promise<void>;
}

/**
 * `/metrics` (Prometheus), `/healthz` (liveness: the event loop answers and the pipeline worker makes
 * progress; 503 with the reason otherwise) and `/readyz` (503 until NATS is connected and a model or
 * the fallback serves; 200 with "Degraded: <reason>" on fallback).
 */
export async function startHttpServer(opts: HttpServerOptions): Promise<RuntimeHttpServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === '/healthz') {
      const l = opts.liveness();
      res
        .writeHead(l.live ? 200 : 503, { 'content-type': 'text/plain' })
        .end(l.live ? 'ok\n' : `not live: ${l.reason}\n`);
    } else if (path === '/readyz') {
      const r = opts.readiness();
      const body = r.ready
        ? r.degraded
          ? `Degraded: ${r.degraded}\n`
          : `ready: ${r.reason}\n`
        : `not ready: ${r.reason}\n`;
      res.writeHead(r.ready ? 200 : 503, { 'content-type': 'text/plain' }).end(body);
    } else if (path === '/metrics') {
      opts.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': opts.registry.contentType }).end(text),
        (err: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${err.message}\n`),
      );
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    }
  });
  // Probes and scrapes are short; a stuck client must not hold a socket past shutdown.
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
