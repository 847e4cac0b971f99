import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ControlServer {
  url: string;
  close(): Promise<void>;
}

/**
 * A loopback HTTP endpoint that runs an environment's actions (`POST /<action>`) for processes that
 * do not own the environment: vitest workers, `cli.ts restart-apiserver`. It answers once the action
 * has finished, 200 on success and 500 with the error otherwise.
 */
export async function startControlServer(
  actions: Readonly<Record<string, () => Promise<void>>>,
): Promise<ControlServer> {
  const server = createServer((req, res) => {
    const action = actions[(req.url ?? '').replace(/^\//, '')];
    if (req.method !== 'POST' || action === undefined) {
      res.writeHead(404).end(`actions: ${Object.keys(actions).join(', ')}\n`);
      return;
    }
    action().then(
      () => res.writeHead(200).end('ok\n'),
      (err: Error) => res.writeHead(500).end(`${err.message}\n`),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Asks the environment behind `controlUrl` to run `action` and waits until it has. */
export async function runControlAction(controlUrl: string, action: string): Promise<void> {
  const res = await fetch(`${controlUrl}/${action}`, {
    method: 'POST',
    signal: AbortSignal.timeout(120_000),
  });
  if (!res.ok) throw new Error(`${action} failed: ${(await res.text()).trim()}`);
}
