import { KubeConfig } from '@kubernetes/client-node';
import { Agent, request, type RequestOptions } from 'node:https';
import type { IncomingMessage } from 'node:http';

/** An API error response (status code and the Status object's reason/message). */
export class KubeApiError extends Error {
  readonly status: number;
  readonly reason: string | undefined;
  constructor(status: number, reason: string | undefined, message: string) {
    super(message);
    this.status = status;
    this.reason = reason;
  }
}

export interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  // Watch payloads are whatever kind the path lists; callers narrow them.
  object: Record<string, unknown>;
}

/**
 * A small JSON client for the API server, built on the kubeconfig's TLS material. The pod runner
 * needs exact control over patch content types, MicroTime formatting and watch streams (410 relists,
 * bookmarks, abort), which is simpler to get right on plain HTTPS than through the generated client.
 */
export class KubeClient {
  readonly #server: URL;
  readonly #tls: RequestOptions;
  readonly #agent: Agent;

  private constructor(server: URL, tls: RequestOptions) {
    this.#server = server;
    this.#tls = tls;
    this.#agent = new Agent({ keepAlive: true, maxSockets: 16 });
  }

  static async fromKubeconfig(path: string): Promise<KubeClient> {
    const kc = new KubeConfig();
    kc.loadFromFile(path);
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error(`kubeconfig ${path} has no current cluster`);
    const opts: RequestOptions = {};
    await kc.applyToHTTPSOptions(opts);
    const tls: RequestOptions = { ca: opts.ca, cert: opts.cert, key: opts.key, headers: opts.headers };
    if (opts.rejectUnauthorized !== undefined) tls.rejectUnauthorized = opts.rejectUnauthorized;
    return new KubeClient(new URL(cluster.server), tls);
  }

  get server(): URL {
    return this.#server;
  }

  /** Sends one request and returns the decoded JSON body; non-2xx answers throw KubeApiError. */
  async request<T>(
    method: string,
    path: string,
    body?: unknown,
    contentType = 'application/json',
    timeoutMs = 30_000,
  ): Promise<T> {
    const res = await this.#send(method, path, body, contentType, timeoutMs);
    const text = await readAll(res);
    if (res.statusCode! < 200 || res.statusCode! >= 300) throw apiError(res.statusCode!, text, method, path);
    return (text ? JSON.parse(text) : {}) as T;
  }

  /**
   * Streams a watch, calling `onEvent` per event. Resolves when the server ends the stream (timeout)
   * or `signal` aborts; rejects on HTTP or transport errors.
   */
  async watch(path: string, onEvent: (e: WatchEvent) => void, signal: AbortSignal): Promise<void> {
    const res = await this.#send('GET', path, undefined, 'application/json', 0, signal);
    if (res.statusCode !== 200) throw apiError(res.statusCode!, await readAll(res), 'WATCH', path);
    await new Promise<void>((resolve, reject) => {
      let buffered = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffered += chunk;
        let nl: number;
        while ((nl = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, nl).trim();
          buffered = buffered.slice(nl + 1);
          if (!line) continue;
          try {
            onEvent(JSON.parse(line) as WatchEvent);
          } catch (err) {
            res.destroy();
            reject(err as Error);
            return;
          }
        }
      });
      res.on('end', () => resolve());
      res.on('close', () => resolve());
      res.on('error', (err) => (signal.aborted ? resolve() : reject(err)));
    });
  }

  close(): void {
    this.#agent.destroy();
  }

  #send(
    method: string,
    path: string,
    body: unknown,
    contentType: string,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<IncomingMessage> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = request(
        {
          ...this.#tls,
          agent: this.#agent,
          protocol: this.#server.protocol,
          hostname: this.#server.hostname,
          port: this.#server.port,
          method,
          path,
          signal,
          headers: {
            ...this.#tls.headers,
            accept: 'application/json',
            ...(payload !== undefined
              ? { 'content-type': contentType, 'content-length': Buffer.byteLength(payload) }
              : {}),
          },
        },
        resolve,
      );
      if (timeoutMs > 0)
        req.setTimeout(timeoutMs, () => req.destroy(new Error(`${method} ${path} timed out`)));
      req.on('error', reject);
      req.end(payload);
    });
  }
}

function readAll(res: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    res.setEncoding('utf8');
    res.on('data', (c: string) => (text += c));
    res.on('end', () => resolve(text));
    res.on('error', reject);
  });
}

function apiError(status: number, text: string, method: string, path: string): KubeApiError {
  let reason: string | undefined;
  let message = text;
  try {
    const s = JSON.parse(text) as { reason?: string; message?: string };
    reason = s.reason;
    message = s.message ?? text;
  } catch {
    // Not a Status object; keep the raw text.
  }
  return new KubeApiError(status, reason, `${method} ${path}: ${status} ${message}`);
}

/** Lease and other MicroTime fields need microseconds: 2006-01-02T15:04:05.000000Z. */
export function microTime(d: Date): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}
