// Readings in from NATS, in one of two modes (config `input.mode`):
// - jetstream: pull consumers with explicit acks: the operator's, one per stream partition, of which
//   this replica pulls those it owns (ownership.ts; the server pins each to one replica), or standalone
//   one durable it creates. A batch's messages are acked (or, for
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
import { OWNER_GROUP } from '../../../contracts/consumers.ts';
import { BatchCollector } from './batchCollector.ts';
import { DISPOSITION_TERM } from '../pipeline/pipeline.ts';

export interface InboundMessage {
  subject: string;
  data: Uint8Array;
  receivedAt: number;
  /** JetStream delivered it before (a failover or a restart): its prediction says so. */
  redelivered?: boolean;
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

/** Which consumers this replica should pull from now (membership.ts); changes as replicas come and go. */
export interface Ownership {
  current(): readonly string[];
  onChange(listener: (owned: readonly string[]) => void): void;
}

export interface JetStreamInputOptions extends CommonOptions {
  stream: string;
  /** Standalone: one durable consumer, created here when missing. */
  durable?: string;
  /** Operator-managed: the consumers to bind (one per partition), never created here. */
  consumers?: readonly string[];
  /** Which of `consumers` to pull from; default all of them. */
  ownership?: Ownership;
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
  loop: PartitionLoop;
}

/** Longest a released partition waits for its taken readings to be acked before unpinning anyway. */
const RELEASE_TIMEOUT_MS = 30_000;

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
async function ensureDurable(opts: JetStreamInputOptions & { durable: string }): Promise<void> {
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

/** One consumer this replica pulls from: its pull loop, whether the server pinned it here, and its unacked readings. */
interface PartitionLoop {
  name: string;
  stopping: boolean;
  messages: ConsumerMessages | undefined;
  done: Promise<void>;
  pinned: boolean;
  unacked: number;
}

export async function startJetStreamInput(opts: JetStreamInputOptions): Promise<NatsInput> {
  if (opts.durable !== undefined) await ensureDurable({ ...opts, durable: opts.durable });
  const names = opts.consumers ?? [opts.durable!];
  const js = jetstream(opts.nc);
  const jsm = await jetstreamManager(opts.nc);
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
        for (const t of batch) {
          t.msg.nak();
          t.loop.unacked--;
        }
        return;
      }
      // The handler published this batch's outputs before resolving: ack (or term) only now.
      const { dispositions, termReasons } = outcome.value;
      let terms = 0;
      for (let i = 0; i < batch.length; i++) {
        const t = batch[i]!;
        if (dispositions[i] === DISPOSITION_TERM) t.msg.term(termReasons[terms++]);
        else t.msg.ack();
        t.loop.unacked--;
      }
    },
  });
  let stopping = false;
  let taken = 0;
  const loops = new Map<string, PartitionLoop>();

  const pull = async (loop: PartitionLoop): Promise<void> => {
    // consume() itself rides out disconnects and server restarts; this loop only restarts it after
    // a hard failure (e.g. the consumer was deleted), at most once a second.
    while (!loop.stopping) {
      try {
        const consumer = await js.consumers.get(opts.stream, loop.name);
        const pinnedGroup = (await consumer.info(true)).config.priority_policy === 'pinned_client';
        // The in-flight bound is shared by every owned partition.
        const max = Math.max(1, Math.ceil(opts.maxInFlight / Math.max(1, loops.size)));
        loop.messages = await consumer.consume({
          max_messages: max,
          ...(pinnedGroup ? { group: OWNER_GROUP } : {}),
        });
        if (loop.stopping) break;
        void (async () => {
          for await (const status of loop.messages!.status()) {
            if (status.type === 'consumer_pinned') loop.pinned = true;
            else if (status.type === 'consumer_unpinned') loop.pinned = false;
          }
        })().catch(() => undefined);
        for await (const msg of loop.messages) {
          const reply = (msg as unknown as { reply?: string }).reply;
          const redelivered = reply !== undefined ? isRedelivery(reply) : msg.redelivered;
          if (redelivered) opts.onRedelivery();
          loop.unacked++;
          const t: Taken = { subject: msg.subject, data: msg.data, receivedAt: Date.now(), msg, loop };
          if (redelivered) t.redelivered = true;
          collector.add(t);
          if (collector.inFlight >= opts.maxInFlight) await collector.waitForCapacity(opts.maxInFlight);
          // Messages already buffered by nats.js arrive as a chain of microtasks: yield once per
          // batch so publishing, acking, timers and probes are never held behind a long burst.
          else if (++taken % opts.maxBatch === 0) await yieldToEventLoop();
        }
      } catch (error) {
        if (!loop.stopping)
          opts.logger.error({ err: error, consumer: loop.name }, 'JetStream consume failed; retrying');
      }
      if (!loop.stopping) await new Promise((r) => setTimeout(r, 1000));
    }
  };

  const acquire = (name: string): void => {
    const loop: PartitionLoop = {
      name,
      stopping: false,
      messages: undefined,
      done: Promise.resolve(),
      pinned: false,
      unacked: 0,
    };
    loops.set(name, loop);
    loop.done = pull(loop);
  };

  /** Stops pulling, lets what was taken be published and acked, then hands the pin over at once. */
  const release = async (loop: PartitionLoop): Promise<void> => {
    loop.stopping = true;
    await loop.messages?.close();
    await loop.done;
    for (const deadline = Date.now() + RELEASE_TIMEOUT_MS; loop.unacked > 0 && Date.now() < deadline;)
      await new Promise((r) => setTimeout(r, 20));
    if (loop.pinned) {
      await jsm.consumers.unpin(opts.stream, loop.name, OWNER_GROUP).catch((error: unknown) => {
        opts.logger.warn({ err: error, consumer: loop.name }, 'could not unpin; the pin times out instead');
      });
    }
    if (loops.get(loop.name) === loop) loops.delete(loop.name);
  };

  // Ownership changes are applied one at a time, in order.
  let applying = Promise.resolve();
  const own = (owned: readonly string[]): void => {
    applying = applying.then(async () => {
      if (stopping) return;
      const want = new Set(owned);
      const gone = [...loops.values()].filter((l) => !want.has(l.name));
      for (const name of want) if (!loops.has(name)) acquire(name);
      await Promise.all(gone.map(release));
      opts.logger.info({ consumers: [...want].sort() }, 'partitions owned');
    });
  };
  if (opts.ownership) {
    opts.ownership.onChange(own);
    own(opts.ownership.current());
  } else own(names);

  return {
    async stop() {
      stopping = true;
      await applying;
      await Promise.all([...loops.values()].map(release));
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
