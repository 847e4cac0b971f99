// Readings in from NATS, in one of two modes (config `input.mode`):
// - jetstream: a durable pull consumer with explicit acks. A batch's messages are acked (or, for
//   dead letters, terminated) only after the batch handler has published their predictions / dead
//   letters, and in batch order. Publishes and acks share one connection, so the server sees each
//   prediction before the ack that releases its reading: at-least-once. Backpressure: iteration
//   pauses while maxInFlight readings are in flight, and nats.js only pulls as the iterator advances.
// - core: a queue-group subscription, at-most-once. At maxInFlight the subscription withdraws its
//   interest until half has drained (other queue members take the load, or the server discards);
//   readings already received past the bound are dropped and counted.
import {
  AckPolicy,
  DeliverPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  jetstream,
  jetstreamManager,
  type ConsumerMessages,
  type JsMsg,
} from '@nats-io/jetstream';
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { BatchCollector } from './batchCollector.ts';

export interface InboundMessage {
  subject: string;
  data: Uint8Array;
  receivedAt: number;
}

/** What to do with a JetStream message once its batch is handled: ack it, or terminate it (dead letter, never redeliver). */
export type Disposition = { kind: 'ack' } | { kind: 'term'; reason: string };

/** Processes one batch and publishes its outputs; returns one disposition per message, in order. */
export type BatchHandler = (batch: InboundMessage[]) => Promise<Disposition[]>;

export interface NatsInput {
  /** Stops pulling/subscribing, then finishes, publishes and acks what is in flight. */
  stop(): Promise<void>;
}

interface CommonOptions {
  nc: NatsConnection;
  subject: string;
  maxBatch: number;
  maxDelayMs: number;
  maxInFlight: number;
  handler: BatchHandler;
  logger: Logger;
}

export interface JetStreamInputOptions extends CommonOptions {
  stream: string;
  durable: string;
  /** Ack wait used when this runtime has to create the durable consumer itself. */
  ackWaitMs: number;
  onRedelivery(): void;
}

export interface CoreInputOptions extends CommonOptions {
  queueGroup: string;
  onDropped(count: number): void;
}

const ACK_WAIT_NANOS_PER_MS = 1_000_000;

/**
 * Binds to the durable consumer (the operator normally creates it next to the stream) or creates it
 * with explicit acks when it is missing, so the runtime also works standalone.
 */
async function ensureDurable(opts: JetStreamInputOptions): Promise<void> {
  const jsm = await jetstreamManager(opts.nc);
  try {
    await jsm.consumers.info(opts.stream, opts.durable);
    return;
  } catch (error) {
    if (!(error instanceof JetStreamApiError && error.code === JetStreamApiCodes.ConsumerNotFound))
      throw error;
  }
  await jsm.consumers.add(opts.stream, {
    durable_name: opts.durable,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    filter_subject: opts.subject,
    ack_wait: opts.ackWaitMs * ACK_WAIT_NANOS_PER_MS,
    max_ack_pending: Math.max(opts.maxInFlight * 4, 1000),
  });
  opts.logger.info({ stream: opts.stream, durable: opts.durable }, 'created durable consumer');
}

export async function startJetStreamInput(opts: JetStreamInputOptions): Promise<NatsInput> {
  await ensureDurable(opts);
  const consumer = await jetstream(opts.nc).consumers.get(opts.stream, opts.durable);
  const collector = new BatchCollector<{ msg: JsMsg; inbound: InboundMessage }>({
    maxBatch: opts.maxBatch,
    maxDelayMs: opts.maxDelayMs,
    process: async (batch) => {
      let dispositions: Disposition[];
      try {
        dispositions = await opts.handler(batch.map((b) => b.inbound));
      } catch (error) {
        // Not acked, so JetStream redelivers; nak asks for it now rather than after ack_wait.
        opts.logger.error({ err: error, size: batch.length }, 'batch failed; readings will be redelivered');
        for (const b of batch) b.msg.nak();
        return;
      }
      for (let i = 0; i < batch.length; i++) {
        const d = dispositions[i]!;
        if (d.kind === 'ack') batch[i]!.msg.ack();
        else batch[i]!.msg.term(d.reason);
      }
    },
  });

  let stopping = false;
  let messages: ConsumerMessages | undefined;
  const loop = (async () => {
    // consume() itself rides out disconnects and server restarts; this loop only restarts it after
    // a hard failure (e.g. the consumer was deleted), at most once a second.
    while (!stopping) {
      try {
        messages = await consumer.consume({ max_messages: opts.maxInFlight });
        if (stopping) break;
        for await (const msg of messages) {
          if (msg.redelivered) opts.onRedelivery();
          collector.add({ msg, inbound: { subject: msg.subject, data: msg.data, receivedAt: Date.now() } });
          if (collector.inFlight >= opts.maxInFlight) await collector.waitForCapacity(opts.maxInFlight);
        }
      } catch (error) {
        opts.logger.error({ err: error }, 'JetStream consume failed; retrying');
      }
      if (!stopping) await new Promise((r) => setTimeout(r, 1000));
    }
  })();

  return {
    async stop() {
      stopping = true;
      await messages?.close();
      await loop;
      await collector.drain();
    },
  };
}

export async function startCoreInput(opts: CoreInputOptions): Promise<NatsInput> {
  const collector = new BatchCollector<InboundMessage>({
    maxBatch: opts.maxBatch,
    maxDelayMs: opts.maxDelayMs,
    process: async (batch) => {
      try {
        await opts.handler(batch);
      } catch (error) {
        opts.logger.error(
          { err: error, size: batch.length },
          'batch failed; core-NATS readings are lost (at-most-once)',
        );
      }
    },
  });
  let dropped = 0;
  let stopping = false;
  let sub: Subscription | undefined;
  // Saturated: withdraw interest instead of receiving readings only to drop them. The server then
  // routes them to other members of the queue group, or discards them when there are none; either
  // way this replica's CPU goes to scoring. Interest returns once half the bound has drained.
  const pause = (): void => {
    sub?.unsubscribe();
    sub = undefined;
    void collector.waitForCapacity(Math.max(1, opts.maxInFlight >> 1)).then(() => {
      if (!stopping) subscribe();
    });
  };
  const subscribe = (): void => {
    sub = opts.nc.subscribe(opts.subject, {
      queue: opts.queueGroup,
      callback: (err, msg: Msg) => {
        if (err) {
          opts.logger.warn({ err }, 'core subscription error');
          return;
        }
        if (collector.inFlight >= opts.maxInFlight) {
          // Already in the socket when interest was withdrawn.
          dropped++;
          return;
        }
        collector.add({ subject: msg.subject, data: msg.data, receivedAt: Date.now() });
        if (collector.inFlight >= opts.maxInFlight && sub) pause();
      },
    });
  };
  subscribe();
  // Report drops in bulk: a per-message metric call would cost more than the drop saves.
  const reporter = setInterval(() => {
    if (dropped > 0) {
      opts.onDropped(dropped);
      dropped = 0;
    }
  }, 1000);
  reporter.unref();
  return {
    async stop() {
      stopping = true;
      clearInterval(reporter);
      // unsubscribe (not drain): messages already delivered to the callback are in the collector.
      sub?.unsubscribe();
      await collector.drain();
      if (dropped > 0) opts.onDropped(dropped);
    },
  };
}
