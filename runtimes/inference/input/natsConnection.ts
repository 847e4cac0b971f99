// The runtime's single NATS connection. It never gives up: reconnects forever with jittered
// backoff (also when NATS is not up yet at start), and reports connected/disconnected so readiness
// follows the connection instead of the process crashing.
import { readFileSync } from 'node:fs';
import {
  connect,
  credsAuthenticator,
  type NatsConnection,
  type NodeConnectionOptions,
} from '@nats-io/transport-node';
import type { Logger } from 'pino';
import type { RuntimeConfig } from '../../../contracts/runtimeConfig.ts';

export interface RuntimeNatsConnection {
  nc: NatsConnection;
  connected(): boolean;
  /** Publishes what is buffered, then closes (subscriptions are drained by their owners first). */
  drain(): Promise<void>;
}

export interface NatsConnectionOptions {
  config: RuntimeConfig;
  logger: Logger;
  onConnectedChange(connected: boolean): void;
}

/**
 * Where and as whom to connect: the servers, the credentials file and the TLS files of the runtime
 * config (the operator's rendering of the fleet's spec.nats). The trainer connects with the same.
 */
export function natsEndpointOptions(nats: RuntimeConfig['nats']): NodeConnectionOptions {
  return {
    servers: nats.servers,
    ...(nats.credentialsFile
      ? { authenticator: credsAuthenticator(readFileSync(nats.credentialsFile)) }
      : {}),
    ...(nats.tls ? { tls: { ...nats.tls } } : {}),
  };
}

export async function openNatsConnection(opts: NatsConnectionOptions): Promise<RuntimeNatsConnection> {
  const nc = await connect({
    ...natsEndpointOptions(opts.config.nats),
    name: `prognos-inference ${opts.config.namespace}/${opts.config.model}@${opts.config.version}`,
    maxReconnectAttempts: -1,
    waitOnFirstConnect: true,
    reconnectTimeWait: 500,
    reconnectJitter: 250,
    // Detects a dead server in ~20 s; the default (2 min) keeps readiness stale too long.
    pingInterval: 10_000,
    maxPingOut: 2,
  });
  let connected = true;
  opts.onConnectedChange(true);
  opts.logger.info({ server: nc.getServer() }, 'NATS connected');
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect' || s.type === 'staleConnection') {
        if (connected) opts.logger.warn({ status: s.type }, 'NATS disconnected; reconnecting');
        connected = false;
        opts.onConnectedChange(false);
      } else if (s.type === 'reconnect') {
        connected = true;
        opts.onConnectedChange(true);
        opts.logger.info({ server: s.server }, 'NATS reconnected');
      } else if (s.type === 'error') {
        opts.logger.warn({ err: s.error }, 'NATS error');
      } else if (s.type === 'slowConsumer') {
        opts.logger.warn({ subject: s.sub.getSubject(), pending: s.pending }, 'NATS slow consumer');
      }
    }
  })();
  return {
    nc,
    connected: () => connected && !nc.isClosed(),
    async drain() {
      if (nc.isClosed()) return;
      await nc.drain();
    },
  };
}
