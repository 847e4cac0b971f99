import type { V1ContainerPort, V1Probe } from '@kubernetes/client-node';
import { spawn } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import { credentials, Client, Metadata } from '@grpc/grpc-js';

/** What a probe needs to know about the container it checks. */
export interface ProbeTarget {
  podIP: string;
  ports: readonly V1ContainerPort[];
  env: Readonly<Record<string, string>>;
  cwd: string;
  /** Rewrites container paths to local ones (see paths.ts). */
  translate: (value: string) => string;
}

/** Runs one probe attempt; resolves true on success. Never rejects. */
export async function runProbe(probe: V1Probe, target: ProbeTarget, timeoutMs: number): Promise<boolean> {
  try {
    if (probe.httpGet) {
      const g = probe.httpGet;
      return await httpProbe(
        g.scheme === 'HTTPS' ? 'https' : 'http',
        g.host || target.podIP,
        resolvePort(g.port, target.ports),
        g.path || '/',
        g.httpHeaders ?? [],
        timeoutMs,
      );
    }
    if (probe.tcpSocket) {
      return await tcpProbe(
        probe.tcpSocket.host || target.podIP,
        resolvePort(probe.tcpSocket.port, target.ports),
        timeoutMs,
      );
    }
    if (probe.exec)
      return await execProbe((probe.exec.command ?? []).map(target.translate), target, timeoutMs);
    if (probe.grpc)
      return await grpcProbe(target.podIP, probe.grpc.port, probe.grpc.service ?? '', timeoutMs);
    return false;
  } catch {
    return false;
  }
}

/** A probe port is a number or the name of one of the container's ports. */
export function resolvePort(port: number | string, ports: readonly V1ContainerPort[]): number {
  if (typeof port === 'number') return port;
  if (/^\d+$/.test(port)) return Number(port);
  const named = ports.find((p) => p.name === port);
  if (!named) throw new Error(`no container port named ${port}`);
  return named.containerPort;
}

function httpProbe(
  scheme: 'http' | 'https',
  host: string,
  port: number,
  path: string,
  headers: readonly { name: string; value: string }[],
  timeoutMs: number,
): Promise<boolean> {
  return new Promise((resolve) => {
    const req = (scheme === 'https' ? httpsRequest : httpRequest)(
      {
        host,
        port,
        path,
        method: 'GET',
        headers: Object.fromEntries([
          ['user-agent', 'kube-probe/1.36'],
          ...headers.map((h) => [h.name, h.value]),
        ]),
        // Like the kubelet, HTTPS probes do not verify the certificate.
        rejectUnauthorized: false,
        agent: false,
      },
      (res) => {
        res.resume();
        resolve(res.statusCode! >= 200 && res.statusCode! < 400);
      },
    );
    req.setTimeout(timeoutMs, () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

function tcpProbe(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port, timeout: timeoutMs }, () => {
      s.destroy();
      resolve(true);
    });
    s.on('timeout', () => {
      s.destroy();
      resolve(false);
    });
    s.on('error', () => resolve(false));
  });
}

function execProbe(command: readonly string[], target: ProbeTarget, timeoutMs: number): Promise<boolean> {
  if (command.length === 0) return Promise.resolve(false);
  return new Promise((resolve) => {
    const child = spawn(command[0]!, command.slice(1), {
      cwd: target.cwd,
      env: { ...target.env },
      stdio: 'ignore',
      detached: true,
    });
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }, timeoutMs);
    child.on('error', () => {
      clearTimeout(timer);
      resolve(false);
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve(code === 0);
    });
  });
}

/** grpc.health.v1.Health/Check with hand-encoded protobuf (one string field in, one enum field out). */
function grpcProbe(host: string, port: number, service: string, timeoutMs: number): Promise<boolean> {
  const client = new Client(`${host}:${port}`, credentials.createInsecure());
  const encode = (s: string): Buffer => {
    const bytes = Buffer.from(s);
    return bytes.length === 0 ? Buffer.alloc(0) : Buffer.concat([Buffer.from([0x0a, bytes.length]), bytes]);
  };
  // Response field 1 (status) as a varint; SERVING = 1.
  const decode = (b: Buffer): number => (b.length >= 2 && b[0] === 0x08 ? b[1]! : 0);
  return new Promise<boolean>((resolve) => {
    client.makeUnaryRequest(
      '/grpc.health.v1.Health/Check',
      encode,
      decode,
      service,
      new Metadata(),
      { deadline: Date.now() + timeoutMs },
      (err, status) => resolve(!err && status === 1),
    );
  }).finally(() => client.close());
}
