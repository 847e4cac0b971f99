// A real Alertmanager (built by build-binaries.sh) on loopback, for the runtimes' machine alerts:
// a minimal config (one receiver that notifies nobody, so tests read alerts back through the API),
// its storage in a temp dir, no cluster (gossip) port.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { freePort } from './freePort.ts';
import { tail } from './managedProcess.ts';

export interface Alertmanager {
  url: string;
  port: number;
  logFile: string;
  /** Stops it (SIGTERM, SIGKILL after 5 s). */
  stop(): Promise<void>;
  /** The web config file (rewrite it to change users: Alertmanager reads it on every request). */
  webConfigFile: string;
  /** Starts it again on the same port and storage (after stop()). */
  start(): Promise<void>;
  /** GET of an API path (with the TLS CA, and basic auth: `auth`, else what it was started with). */
  get(path: string, auth?: { username: string; password: string }): Promise<{ status: number; body: string }>;
}

export interface AlertmanagerOptions {
  binary: string;
  dir: string;
  config?: string;
  /**
   * Its web config (exporter-toolkit: tls_server_config, basic_auth_users); `https` and `auth` tell
   * this helper how to reach it then.
   */
  webConfig?: string;
  https?: { ca: string };
  auth?: { username: string; password: string };
}

/** The config the tests use: every alert routed to a receiver without integrations. */
export const MINIMAL_CONFIG = `route:
  receiver: blackhole
  group_by: [namespace, model, machine]
receivers:
  - name: blackhole
`;

export async function startAlertmanager(opts: AlertmanagerOptions): Promise<Alertmanager> {
  mkdirSync(opts.dir, { recursive: true });
  const host = '127.0.0.1';
  const port = await freePort(host);
  const configFile = join(opts.dir, 'alertmanager.yml');
  writeFileSync(configFile, opts.config ?? MINIMAL_CONFIG);
  const logFile = join(opts.dir, 'alertmanager.log');
  const url = `${opts.https ? 'https' : 'http'}://${host}:${port}`;
  const webConfigFile = join(opts.dir, 'web.yml');
  if (opts.webConfig) writeFileSync(webConfigFile, opts.webConfig);
  let child: ChildProcess | undefined;

  const get = (path: string, auth = opts.auth): Promise<{ status: number; body: string }> =>
    new Promise((resolve, reject) => {
      const send = opts.https ? httpsRequest : httpRequest;
      const headers: Record<string, string> = auth
        ? {
            authorization: `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`,
          }
        : {};
      const req = send(`${url}${path}`, { headers, ...(opts.https ? { ca: opts.https.ca } : {}) }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    });

  const start = async (): Promise<void> => {
    const log = createWriteStream(logFile, { flags: 'a' });
    const proc = spawn(
      opts.binary,
      [
        `--config.file=${configFile}`,
        `--storage.path=${join(opts.dir, 'data')}`,
        `--web.listen-address=${host}:${port}`,
        // Empty: no HA cluster, so no gossip port to collide on.
        '--cluster.listen-address=',
        ...(opts.webConfig ? [`--web.config.file=${webConfigFile}`] : []),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child = proc;
    proc.stdout!.pipe(log);
    proc.stderr!.pipe(log);
    const deadline = Date.now() + 15_000;
    for (;;) {
      if (proc.exitCode !== null)
        throw new Error(`alertmanager exited (${proc.exitCode}):\n${tail(logFile)}`);
      const ready = await get('/-/ready').then(
        (r) => r.status === 200,
        () => false,
      );
      if (ready) return;
      if (Date.now() > deadline) throw new Error(`alertmanager not ready after 15 s:\n${tail(logFile)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  const stop = async (): Promise<void> => {
    const proc = child;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  };

  await start();
  return { url, port, logFile, webConfigFile, stop, start, get };
}
