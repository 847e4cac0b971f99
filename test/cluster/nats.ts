import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { freePort } from './freePort.ts';

export interface NatsServer {
  url: string;
  port: number;
  pid: number;
  logFile: string;
  /** Stops the server (SIGTERM, then SIGKILL after 5 s). */
  stop(): Promise<void>;
  /** Kills and starts it again on the same port and store (for restart tests). */
  restart(): Promise<void>;
}

export interface NatsServerOptions {
  binary: string;
  /** Directory for the JetStream store and the log file. */
  dir: string;
  port?: number;
  host?: string;
  /** More nats-server flags, e.g. `-c auth.conf` or `-m <port>` (monitoring). */
  args?: string[];
}

/** Starts a real nats-server with JetStream on loopback and waits until it accepts connections. */
export async function startNatsServer(opts: NatsServerOptions): Promise<NatsServer> {
  const host = opts.host ?? '127.0.0.1';
  const port = opts.port ?? (await freePort(host));
  mkdirSync(opts.dir, { recursive: true });
  const logFile = join(opts.dir, 'nats-server.log');
  let child: ChildProcess;

  const launch = async (): Promise<void> => {
    const log = createWriteStream(logFile, { flags: 'a' });
    const args = [
      '-js',
      '-a',
      host,
      '-p',
      String(port),
      '-sd',
      join(opts.dir, 'jetstream'),
      ...(opts.args ?? []),
    ];
    child = spawn(opts.binary, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.pipe(log);
    child.stderr!.pipe(log);
    await waitForPort(host, port, 10_000, () => child.exitCode !== null, logFile);
  };

  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  };

  await launch();
  return {
    url: `nats://${host}:${port}`,
    port,
    get pid() {
      return child.pid!;
    },
    logFile,
    stop,
    async restart() {
      await stop();
      await launch();
    },
  };
}

async function waitForPort(
  host: string,
  port: number,
  timeoutMs: number,
  died: () => boolean,
  logFile: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (died()) throw new Error(`nats-server exited during start; see ${logFile}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, host, () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nats-server did not listen on ${host}:${port} within ${timeoutMs} ms; see ${logFile}`);
}
