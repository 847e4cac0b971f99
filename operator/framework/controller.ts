import type { KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { sleep } from './backoff.ts';
import type { EventRecorder } from './events.ts';
import { isFenced, type Fence } from './fence.ts';
import { keyOf, splitKey, type GroupVersionKind } from './gvk.ts';
import type { EventHandler } from './informer.ts';
import type { InformerCache } from './informerCache.ts';
import type { KubeClient } from './kubeClient.ts';
import type { FrameworkMetrics } from './metrics.ts';
import { controllerOwnerKey } from './ownerMapping.ts';
import type { Predicate } from './predicates.ts';
import type { RateLimiter } from './rateLimiter.ts';
import { References } from './references.ts';
import type { Delta } from './store.ts';
import { WorkQueue } from './workQueue.ts';

/** What to reconcile: the key of the primary object. */
export interface Request {
  key: string;
  namespace?: string;
  name: string;
}

export interface Result {
  /** Reconcile again after this long, without counting as a failure (polling external state). */
  requeueAfterMs?: number;
  /** Reconcile again with the rate-limited backoff, without logging an error. */
  requeue?: boolean;
}

export interface ReconcileContext<T extends KubernetesObject> {
  request: Request;
  /** The primary object from the cache (shared: never mutate it); undefined once it is deleted. */
  object: T | undefined;
  /** The API client of this term as leader: writes pass the fence, requests end with the term. */
  client: KubeClient;
  /** Events, written through the same fenced client. */
  events: EventRecorder;
  log: Logger;
  /**
   * Aborted when the term as leader ends (lost lease: at once) or when the controller stops and the
   * grace period for in-flight reconciles is over. Pass it to fetches, child processes and waits.
   */
  signal: AbortSignal;
  /** Call `fence.check()` right before a write that does not go through `client` (NATS, for one). */
  fence: Fence;
  /** Reads an object of a kind this controller watches (for, owns or watches) from the shared cache (read-only). */
  cached<U extends KubernetesObject>(kind: WatchSpec, key: string): U | undefined;
  /** Every cached object of a kind this controller watches (read-only). */
  cachedList<U extends KubernetesObject>(kind: WatchSpec): U[];
  /**
   * Reads an object the primary names (a Secret in its spec) from a watch of that object alone, started
   * by the first read; a change to it reconciles the primary again (see References). Undefined when it
   * does not exist; throws ReferenceUnreadableError when it cannot be read (403 Forbidden).
   */
  readReferenced<U extends KubernetesObject>(
    kind: GroupVersionKind,
    namespace: string,
    name: string,
  ): Promise<U | undefined>;
}

/** What a reconciler writes through, per reconcile: pass it on to the code that does the writing. */
export type ReconcileIo = Pick<ReconcileContext<KubernetesObject>, 'client' | 'events' | 'signal' | 'fence'>;

/**
 * Brings the world in line with the object named by the request. Must be idempotent. Throwing (or
 * rejecting) is an error: it is logged, counted and retried with per-key exponential backoff.
 */
// eslint-disable-next-line @typescript-eslint/no-invalid-void-type -- a reconciler with nothing to ask for just returns
export type Reconciler<T extends KubernetesObject> = (ctx: ReconcileContext<T>) => Promise<Result | void>;

/** A kind to watch, optionally narrowed. */
export interface WatchSpec extends GroupVersionKind {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Drop changes not worth a reconcile (e.g. `generationChanged`). */
  predicate?: Predicate;
}

export interface PrimarySpec extends WatchSpec {
  /** The primary kind is cluster-scoped (owner keys are then names alone). Default: namespaced. */
  clusterScoped?: boolean;
}

export interface ControllerOptions<T extends KubernetesObject> {
  reconcile: Reconciler<T>;
  /** Reconciles running at once (different keys; one key is never reconciled twice at once). Default 4. */
  concurrency?: number;
  /** A fresh limiter per run; default 5 ms→1000 s per key, 10 qps / burst 100 overall. */
  rateLimiter?: () => RateLimiter;
}

export interface ControllerDeps {
  /** Fenced by `fence` (KubeClient.fenced). */
  client: KubeClient;
  informers: InformerCache;
  metrics: FrameworkMetrics;
  events: EventRecorder;
  fence: Fence;
  log: Logger;
}

interface Run {
  queue: WorkQueue;
  references: References;
  deps: ControllerDeps;
  log: Logger;
  abort: AbortController;
  /** The reconciles' signal: the run's abort or the end of the term. */
  signal: AbortSignal;
  workers: Promise<void>[];
}

/**
 * A controller: one primary kind (`for`), the kinds it creates (`owns`, mapped back to the primary
 * through their controller ownerReference) and other kinds it depends on (`watches`, with a mapping
 * function). Every change becomes a primary key on a de-duplicating, rate-limited work queue.
 */
export class Controller<T extends KubernetesObject = KubernetesObject> {
  readonly name: string;
  readonly #options: ControllerOptions<T>;
  #primary: PrimarySpec | undefined;
  readonly #owned: WatchSpec[] = [];
  readonly #watched: { spec: WatchSpec; map: (obj: KubernetesObject) => string[] }[] = [];
  #run: Run | undefined;

  constructor(name: string, options: ControllerOptions<T>) {
    this.name = name;
    this.#options = options;
  }

  for(spec: PrimarySpec): this {
    this.#primary = spec;
    return this;
  }

  owns(spec: WatchSpec): this {
    this.#owned.push(spec);
    return this;
  }

  /** Watches another kind; `map` returns the keys ("namespace/name") of the primaries to reconcile. */
  watches(spec: WatchSpec, map: (obj: KubernetesObject) => string[]): this {
    this.#watched.push({ spec, map });
    return this;
  }

  /** Registers this controller's event handlers on (fresh) shared informers. The Operator calls it. */
  setUp(deps: ControllerDeps): void {
    const primary = this.#primary;
    if (!primary) throw new Error(`controller ${this.name} has no primary kind: call for()`);
    const queue = new WorkQueue({
      name: this.name,
      rateLimiter: this.#options.rateLimiter?.(),
      metrics: deps.metrics,
    });
    const log = deps.log.child({ controller: this.name });
    const references = new References({
      informers: deps.informers,
      onChange: (keys) => {
        for (const k of keys) queue.add(k);
      },
      log,
    });
    const abort = new AbortController();
    const signal = AbortSignal.any([abort.signal, deps.fence.signal]);
    this.#run = { queue, references, deps, log, abort, signal, workers: [] };
    const informers = deps.informers;
    informers.informerFor(primary).addEventHandler(handler(primary.predicate, (o) => [keyOf(o)], queue));
    for (const spec of this.#owned) {
      const ownerKeys = (o: KubernetesObject) => {
        const key = controllerOwnerKey(o, primary, !primary.clusterScoped);
        return key ? [key] : [];
      };
      informers.informerFor(spec).addEventHandler(handler(spec.predicate, ownerKeys, queue));
    }
    for (const { spec, map } of this.#watched) {
      informers.informerFor(spec).addEventHandler(handler(spec.predicate, map, queue));
    }
  }

  /** Starts the workers; call once the informers have synced. */
  start(): void {
    const run = this.#requireRun();
    const concurrency = this.#options.concurrency ?? 4;
    run.deps.metrics.activeWorkers.set({ controller: this.name }, 0);
    for (let i = 0; i < concurrency; i++) run.workers.push(this.#worker(run));
    run.log.info({ concurrency }, 'controller started');
  }

  /**
   * Stops taking work, lets running reconciles finish for up to `graceMs`, then aborts their
   * signal. Resolves once the workers are done or the grace period is over.
   */
  async stop(graceMs: number): Promise<void> {
    const run = this.#run;
    if (!run) return;
    this.#run = undefined;
    run.queue.shutDown();
    const finished = Promise.all(run.workers).then(() => true);
    const grace = new AbortController(); // so an early finish does not leave a timer holding the process
    const inTime = await Promise.race([finished, sleep(graceMs, grace.signal).then(() => false)]);
    grace.abort();
    run.abort.abort();
    if (!inTime) run.log.warn({ graceMs }, 'reconciles still running after the grace period: aborted');
    await run.references.close();
    run.log.info('controller stopped');
  }

  #requireRun(): Run {
    if (!this.#run) throw new Error(`controller ${this.name} is not set up`);
    return this.#run;
  }

  async #worker(run: Run): Promise<void> {
    for (let key = await run.queue.get(); key !== undefined; key = await run.queue.get()) {
      try {
        await this.#reconcileKey(run, key);
      } finally {
        run.queue.done(key);
      }
    }
  }

  async #reconcileKey(run: Run, key: string): Promise<void> {
    const { queue, deps } = run;
    const labels = { controller: this.name };
    const request: Request = { key, ...splitKey(key) };
    const log = run.log.child({ key });
    const informer = deps.informers.informerFor(this.#primary!);
    const ctx: ReconcileContext<T> = {
      request,
      object: informer.get(key) as T | undefined,
      client: deps.client,
      events: deps.events,
      log,
      signal: run.signal,
      fence: deps.fence,
      cached: <U extends KubernetesObject>(spec: WatchSpec, k: string) =>
        deps.informers.get(spec)?.get(k) as U | undefined,
      cachedList: <U extends KubernetesObject>(spec: WatchSpec) =>
        (deps.informers.get(spec)?.list() ?? []) as U[],
      readReferenced: <U extends KubernetesObject>(kind: GroupVersionKind, namespace: string, name: string) =>
        run.references.read<U>(key, kind, namespace, name, run.signal),
    };
    deps.metrics.activeWorkers.inc(labels);
    const end = deps.metrics.reconcileTime.startTimer(labels);
    let result: 'success' | 'error' | 'requeue' | 'requeue_after' | 'fenced';
    try {
      // Via then(): a reconciler that throws synchronously is caught the same way.
      const res = await Promise.resolve().then(() => this.#options.reconcile(ctx));
      if (res?.requeueAfterMs !== undefined && res.requeueAfterMs > 0) {
        queue.forget(key);
        queue.addAfter(key, res.requeueAfterMs);
        result = 'requeue_after';
      } else if (res?.requeue) {
        queue.addRateLimited(key);
        result = 'requeue';
      } else {
        queue.forget(key);
        result = 'success';
      }
    } catch (err) {
      if (isFenced(err, deps.fence)) {
        // The term is over: the next leader reconciles this key from its own fresh cache.
        log.info({ reason: String(deps.fence.signal.reason ?? err) }, 'reconcile stopped: no longer leading');
        result = 'fenced';
      } else {
        deps.metrics.reconcileErrors.inc(labels);
        log.error({ err, retries: queue.numRequeues(key) }, 'reconcile failed');
        queue.addRateLimited(key);
        result = 'error';
      }
    } finally {
      end();
      deps.metrics.activeWorkers.dec(labels);
    }
    run.references.settle(key, result !== 'error');
    deps.metrics.reconcileTotal.inc({ ...labels, result });
  }
}

function handler(
  predicate: Predicate | undefined,
  keysOf: (obj: KubernetesObject) => string[],
  queue: WorkQueue,
): EventHandler {
  const on = (delta: Delta) => {
    if (predicate && !predicate(delta)) return;
    // A changed owner reference or label must reach both the old and the new mapping; de-duplicated
    // here, or a worker could take the first add before the second and reconcile twice.
    const keys = new Set(keysOf(delta.obj));
    if (delta.type === 'update') for (const k of keysOf(delta.old)) keys.add(k);
    for (const k of keys) queue.add(k);
  };
  return {
    add: (obj) => on({ type: 'add', obj }),
    update: (old, obj) => on({ type: 'update', old, obj }),
    delete: (obj) => on({ type: 'delete', obj }),
  };
}
