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
import { DISPOSITION_TERM } from '../pipeline/pipeline.ts';

export interface InboundMessage {
  subject: string;
  data: Uint8Array;
  receivedAt: number;
}

/**
 * What to do with each JetStream message once its batch is handled: `dispositions[i]` is
 * DISPOSITION_ACK, or DISPOSITION_TERM (dead letter, never redeliver) with the next of `termReasons`.
 */
export interface Dispositions {
  dispositions: Uint8Array;
  termReasons: readonly string[];
}

/** Processes one batch and publishes its outputs; returns one disposition per message, in order. */
export type BatchHandler = (batch: InboundMessage[]) => Promise<Dispositions>;

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

/** What the batch handler gets for each message, with the message kept for its ack. */
interface Taken extends InboundMessage {
  msg: JsMsg;
}

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

type Settled<V> = Promise<{ ok: true; value: V } | { ok: false; error: unknown }>;
/** A promise that never rejects, so a batch started early cannot become an unhandled rejection. */
const settle = <V>(p: Promise<V>): Settled<V> =>
  p.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );

/**
 * Whether a JetStream reply subject carries a delivery count above 1, without JsMsg.info's full
 * parse (a split and five parseInts per message). Layouts: `$JS.ACK.<stream>.<consumer>.<delivered>.…`
 * (9 tokens) and `$JS.ACK.<domain>.<hash>.<stream>.<consumer>.<delivered>.…` (12 tokens).
 */
export function isRedelivery(reply: string): boolean {
  let dots = 0;
  for (let i = 0; i < reply.length; i++) if (reply.charCodeAt(i) === 46) dots++;
  const token = dots === 8 ? 4 : 6;
  let start = 0;
  for (let seen = 0; seen < token; start++) if (reply.charCodeAt(start) === 46) seen++;
  let end = start;
  while (end < reply.length && reply.charCodeAt(end) !== 46) end++;
  // "1" is the first delivery; anything else (including an unparseable token) counts as a redelivery
  // only when it is a number above 1.
  if (end - start === 1 && reply.charCodeAt(start) === 49) return false;
  const n = Number(reply.slice(start, end));
  return Number.isFinite(n) && n > 1;
}

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
  const collector = new BatchCollector<Taken, Settled<Dispositions>>({
    maxBatch: opts.maxBatch,
    maxDelayMs: opts.maxDelayMs,
    // Scoring of this batch starts now, while earlier batches may still be publishing and acking.
    // The batch itself, not a mapped copy: one object less per message on the event loop.
    start: (batch) => settle(opts.handler(batch)),
    process: async (batch, started) => {
      const outcome = await started!;
      if (!outcome.ok) {
        // Not acked, so JetStream redelivers; nak asks for it now rather than after ack_wait.
        opts.logger.error(
          { err: outcome.error, size: batch.length },
          'batch failed; readings will be redelivered',
        );
        for (const t of batch) t.msg.nak();
        return;
      }
      // The handler published this batch's outputs before resolving: ack (or term) only now.
      const { dispositions, termReasons } = outcome.value;
      let terms = 0;
      for (let i = 0; i < batch.length; i++) {
        if (dispositions[i] === DISPOSITION_TERM) batch[i]!.msg.term(termReasons[terms++]);
        else batch[i]!.msg.ack();
      }
    },
  });
  let stopping = false;
  let taken = 0;
  let messages: ConsumerMessages | undefined;
  const loop = (async () => {
    // consume() itself rides out disconnects and server restarts; this loop only restarts it after
    // a hard failure (e.g. the consumer was deleted), at most once a second.
    while (!stopping) {
      try {
        messages = await consumer.consume({ max_messages: opts.maxInFlight });
        if (stopping) break;
        for await (const msg of messages) {
          const reply = (msg as unknown as { reply?: string }).reply;
          if (reply !== undefined ? isRedelivery(reply) : msg.redelivered) opts.onRedelivery();
          collector.add({ subject: msg.subject, data: msg.data, receivedAt: Date.now(), msg });
          if (collector.inFlight >= opts.maxInFlight) await collector.waitForCapacity(opts.maxInFlight);
          // Messages already buffered by nats.js arrive as a chain of microtasks: yield once per
          // batch so publishing, acking, timers and probes are never held behind a long burst.
          else if (++taken % opts.maxBatch === 0) await yieldToEventLoop();
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
  const collector = new BatchCollector<InboundMessage, Settled<Dispositions>>({
    maxBatch: opts.maxBatch,
    maxDelayMs: opts.maxDelayMs,
    start: (batch) => settle(opts.handler(batch)),
    process: async (_batch, started) => {
      const outcome = await started!;
      if (!outcome.ok) {
        opts.logger.error(
          { err: outcome.error, size: _batch.length },
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
  // The server has the interest once this resolves: readings published after start are received.
  await opts.nc.flush();
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
