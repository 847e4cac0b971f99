import type { KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { FencedError } from './fence.ts';
import type { KubeClient } from './kubeClient.ts';
import { microTime } from './microTime.ts';

export interface EventInput {
  type: 'Normal' | 'Warning';
  /** UpperCamelCase, machine-readable: "ArtifactMismatch". */
  reason: string;
  /** Human-readable; truncated to the API's 1 kB limit. */
  message: string;
  /** What the operator did or failed to do: "Verify", "Apply". Defaults to the reason. */
  action?: string;
}

export interface EventRecorderOptions {
  /** reportingController, e.g. "prognos.dev/operator". */
  controller: string;
  /** reportingInstance: this replica (pod name). */
  instance: string;
  log: Logger;
  now?: () => Date;
  /** Isomorphic events within this window are counted into one Event's series (client-go: 6 min). */
  seriesWindowMs?: number;
  maxTracked?: number;
}

interface Tracked {
  namespace: string;
  name: string;
  count: number;
  lastAt: number;
  /** Writes for one event are serialized: a repeat must not race the create it counts on. */
  chain: Promise<void>;
}

/**
 * Records events.k8s.io/v1 Events. The same (object, type, reason, message) repeated within the
 * series window increments one Event's series count instead of creating a new Event, so a reconcile
 * loop stuck on an error produces one Event with a growing count, not thousands. Best effort:
 * failures are logged, never thrown.
 */
export class EventRecorder {
  readonly #client: Pick<KubeClient, 'create' | 'patch'>;
  readonly #opts: Required<EventRecorderOptions>;
  readonly #tracked = new Map<string, Tracked>();

  constructor(client: Pick<KubeClient, 'create' | 'patch'>, options: EventRecorderOptions) {
    this.#client = client;
    this.#opts = { now: () => new Date(), seriesWindowMs: 6 * 60_000, maxTracked: 4096, ...options };
  }

  /** Records an event about `obj`; the returned promise settles when it is written (or failed). */
  emit(obj: KubernetesObject, event: EventInput): Promise<void> {
    const now = this.#opts.now();
    const md = obj.metadata ?? {};
    const key = [
      md.uid ?? `${md.namespace}/${md.name}`,
      event.type,
      event.reason,
      event.message,
      event.action,
    ].join('\u0000');
    const prior = this.#tracked.get(key);
    const repeat = prior !== undefined && now.getTime() - prior.lastAt <= this.#opts.seriesWindowMs;
    const tracked: Tracked = repeat
      ? { ...prior, count: prior.count + 1, lastAt: now.getTime() }
      : {
          namespace: md.namespace || 'default',
          name: `${md.name ?? 'unknown'}.${(now.getTime() * 1e6 + Math.floor(Math.random() * 1e6)).toString(16)}`,
          count: 1,
          lastAt: now.getTime(),
          chain: prior?.chain ?? Promise.resolve(),
        };
    const write = repeat
      ? () => this.#patchSeries(obj, event, tracked, now)
      : () => this.#create(obj, event, tracked, now);
    tracked.chain = tracked.chain.then(write).catch((err: unknown) => {
      // A replica that no longer leads records nothing; that is the fence working, not a failure.
      if (err instanceof FencedError)
        this.#opts.log.debug({ reason: event.reason }, 'event not recorded: fenced');
      else this.#opts.log.warn({ err, reason: event.reason }, 'could not record event');
    });
    // Re-insert to keep the Map in least-recently-used order, and bound it.
    this.#tracked.delete(key);
    this.#tracked.set(key, tracked);
    if (this.#tracked.size > this.#opts.maxTracked) this.#tracked.delete(this.#tracked.keys().next().value!);
    return tracked.chain;
  }

  async #create(obj: KubernetesObject, event: EventInput, t: Tracked, now: Date): Promise<void> {
    const md = obj.metadata ?? {};
    await this.#client.create({
      apiVersion: 'events.k8s.io/v1',
      kind: 'Event',
      metadata: { name: t.name, namespace: t.namespace },
      eventTime: microTime(now),
      reportingController: this.#opts.controller,
      reportingInstance: this.#opts.instance,
      action: event.action ?? event.reason,
      reason: event.reason,
      note: event.message.slice(0, 1024),
      type: event.type,
      regarding: {
        apiVersion: obj.apiVersion,
        kind: obj.kind,
        name: md.name,
        namespace: md.namespace,
        uid: md.uid,
        resourceVersion: md.resourceVersion,
      },
    } as KubernetesObject);
  }

  async #patchSeries(obj: KubernetesObject, event: EventInput, t: Tracked, now: Date): Promise<void> {
    try {
      await this.#client.patch(
        { apiVersion: 'events.k8s.io/v1', kind: 'Event', namespace: t.namespace, name: t.name },
        { series: { count: t.count, lastObservedTime: microTime(now) } },
        'application/merge-patch+json',
      );
    } catch (err) {
      // The Event expired (TTL) or was deleted: start a new one.
      if ((err as { statusCode?: number }).statusCode !== 404) throw err;
      t.count = 1;
      await this.#create(obj, event, t, now);
    }
  }
}
