import { createHash } from 'node:crypto';
import {
  connect,
  credsAuthenticator,
  type NatsConnection,
  type NodeConnectionOptions,
} from '@nats-io/transport-node';

/** Everything needed to open one NATS connection, with secret material already read. */
export interface NatsTarget {
  url: string;
  /** Content of a NATS `.creds` file (JWT + nkey seed). */
  credentials?: string;
  tls?: { ca?: string; cert?: string; key?: string };
}

/** Connection options for a target; pure so the mapping from Secret data to client options is testable. */
export function connectionOptions(target: NatsTarget, name: string): NodeConnectionOptions {
  const opts: NodeConnectionOptions = {
    servers: target.url,
    name,
    // The operator lives as long as the pod; a NATS restart must not cost a connection.
    maxReconnectAttempts: -1,
    reconnectTimeWait: 1_000,
    timeout: 5_000,
  };
  if (target.credentials !== undefined) {
    opts.authenticator = credsAuthenticator(new TextEncoder().encode(target.credentials));
  }
  if (target.tls) {
    opts.tls = {};
    if (target.tls.ca !== undefined) opts.tls.ca = target.tls.ca;
    if (target.tls.cert !== undefined) opts.tls.cert = target.tls.cert;
    if (target.tls.key !== undefined) opts.tls.key = target.tls.key;
  }
  return opts;
}

/**
 * Pool key: fleets on the same server with the same credentials share a connection; a rotated Secret
 * yields a new key (hence a new connection) without the operator restarting. Secret material is hashed
 * so it never sits in a map key or a log line.
 */
export function poolKey(target: NatsTarget): string {
  const secret = createHash('sha256')
    .update(
      JSON.stringify([
        target.credentials ?? '',
        target.tls?.ca ?? '',
        target.tls?.cert ?? '',
        target.tls?.key ?? '',
      ]),
    )
    .digest('hex')
    .slice(0, 16);
  return `${target.url}#${secret}`;
}

export type ConnectFn = (opts: NodeConnectionOptions) => Promise<NatsConnection>;

/**
 * One NATS connection per (URL, credentials). A failed connect is not cached, so the next reconcile
 * retries (the controller's backoff paces it); a connection that closes for good is dropped likewise.
 */
export class NatsPool {
  readonly #conns = new Map<string, Promise<NatsConnection>>();
  readonly #connect: ConnectFn;
  readonly #name: string;
  readonly #onConnect: ((nc: NatsConnection, target: NatsTarget) => void) | undefined;

  constructor(
    options: {
      name?: string;
      connect?: ConnectFn;
      /** Called once per new connection, e.g. to start telemetry subscriptions on it. */
      onConnect?: (nc: NatsConnection, target: NatsTarget) => void;
    } = {},
  ) {
    this.#name = options.name ?? 'prognos-operator';
    this.#connect = options.connect ?? connect;
    this.#onConnect = options.onConnect;
  }

  get(target: NatsTarget): Promise<NatsConnection> {
    const key = poolKey(target);
    const existing = this.#conns.get(key);
    if (existing) return existing;
    const pending = this.#connect(connectionOptions(target, this.#name)).then(
      (nc) => {
        void nc.closed().then(() => {
          if (this.#conns.get(key) === pending) this.#conns.delete(key);
        });
        this.#onConnect?.(nc, target);
        return nc;
      },
      (error: unknown) => {
        this.#conns.delete(key);
        throw error;
      },
    );
    this.#conns.set(key, pending);
    return pending;
  }

  /** Connections that are currently open (for subscriptions that span every fleet). */
  async connections(): Promise<NatsConnection[]> {
    const settled = await Promise.allSettled(this.#conns.values());
    return settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  }

  /** Drains every connection (pending publishes flushed, subscriptions ended); resolves to how many. */
  async close(): Promise<number> {
    const conns = await this.connections();
    this.#conns.clear();
    await Promise.allSettled(conns.map((nc) => nc.drain()));
    return conns.length;
  }
}
