// Shared pieces of the rollout integration tests: a steady reading publisher, the split the
// runtimes obey (KV), the fleet's consumers with their backlogs, and the model's Events.
import { jetstreamManager, type JetStreamClient } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { expect } from 'vitest';
import { eventually, objectEvents } from './operatorHarness.ts';

/**
 * Publishes one reading per machine every `periodMs` on `<ns>.<fleet>.<machine>.readings`, with
 * event time now (a reading from the future is dead-lettered), strictly increasing per machine.
 * `published` holds `machine/ts` of every reading the stream acknowledged.
 */
export class ReadingPublisher {
  readonly published: string[] = [];
  private running = false;
  private loop: Promise<void> | undefined;

  private readonly js: JetStreamClient;
  private readonly subjectPrefix: string;
  private readonly machines: readonly string[];
  private readonly periodMs: number;

  constructor(js: JetStreamClient, subjectPrefix: string, machines: readonly string[], periodMs: number) {
    this.js = js;
    this.subjectPrefix = subjectPrefix;
    this.machines = machines;
    this.periodMs = periodMs;
  }

  start(): void {
    this.running = true;
    this.loop = (async () => {
      let ts = 0;
      while (this.running) {
        ts = Math.max(ts + 1, Date.now());
        for (const machine of this.machines) {
          await this.js.publish(
            `${this.subjectPrefix}.${machine}.readings`,
            JSON.stringify({ ts, vibration: 2 + (ts % 7), temperature: 60 + (ts % 5) }),
          );
          this.published.push(`${machine}/${ts}`);
        }
        await new Promise((r) => setTimeout(r, this.periodMs));
      }
    })();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }
}

/** Every prediction of a model: which versions scored each `machine/ts`, and scores that were not numbers. */
export class PredictionLog {
  readonly seen = new Map<string, string[]>();
  nonNumericScores = 0;
  private readonly nc: NatsConnection;
  private readonly ns: string;
  private readonly sub: Subscription;

  constructor(nc: NatsConnection, ns: string, model: string) {
    this.nc = nc;
    this.ns = ns;
    this.sub = nc.subscribe(`prognos.predictions.${ns}.${model}.>`, {
      callback: (_err, msg) => {
        const p = msg.json<{ machineId: string; ts: number; modelVersion: string; score: unknown }>();
        if (typeof p.score !== 'number') this.nonNumericScores++;
        const key = `${p.machineId}/${p.ts}`;
        this.seen.set(key, [...(this.seen.get(key) ?? []), p.modelVersion]);
      },
    });
  }

  /** Every reading of `published[0, upTo)` is scored, and none by two versions. */
  async expectEachScoredOnce(published: readonly string[], upTo = published.length): Promise<void> {
    const readings = published.slice(0, upTo);
    await eventually(
      'a prediction for every reading',
      async () => {
        const missing = readings.filter((k) => !this.seen.has(k));
        if (missing.length === 0) return true;
        // Says whether the readings are still queued (slow) or nowhere (lost).
        throw new Error(
          `${missing.length} of ${upTo} readings unscored (e.g. ${missing.slice(0, 5).join(', ')}); ` +
            `consumers: ${JSON.stringify(await streamConsumers(this.nc, this.ns))}`,
        );
      },
      120_000,
    );
    expect(readings.filter((k) => new Set(this.seen.get(k)).size > 1)).toEqual([]);
  }

  /** The versions that scored `published[0, upTo)`. */
  versions(published: readonly string[], upTo = published.length): Set<string> {
    return new Set(published.slice(0, upTo).flatMap((k) => this.seen.get(k) ?? []));
  }

  stop(): void {
    this.sub.unsubscribe();
  }
}

/** The split the operator wrote for a model (KV `prognos-rollouts`), or undefined. */
export async function readSplit(nc: NatsConnection, ns: string, model: string): Promise<unknown> {
  const kv = await new Kvm(nc).open('prognos-rollouts');
  const entry = await kv.get(`${ns}.${model}`);
  return entry && entry.operation === 'PUT' ? entry.json() : undefined;
}

export interface ConsumerBacklog {
  pending: number;
  unacked: number;
}

/** Every consumer of the namespace's streams, by name, with what it still holds. */
export async function streamConsumers(
  nc: NatsConnection,
  ns: string,
): Promise<Record<string, ConsumerBacklog>> {
  const jsm = await jetstreamManager(nc);
  const consumers: Record<string, ConsumerBacklog> = {};
  for await (const s of jsm.streams.list())
    if (s.config.name.includes(ns.toUpperCase().replaceAll('-', '_')))
      for await (const c of jsm.consumers.list(s.config.name))
        consumers[c.name] = { pending: c.num_pending, unacked: c.num_ack_pending };
  return consumers;
}

/** The reasons of the Events about `name`, oldest first, each repeat of a series counted. */
export async function eventReasons(ns: string, name: string): Promise<string[]> {
  return (await objectEvents(ns, name)).flatMap((e) => Array.from({ length: e.count ?? 1 }, () => e.reason));
}
