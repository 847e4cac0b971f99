import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import type { TelemetryMessage } from '../../../contracts/telemetry.ts';
import type { TrafficBook } from './trafficBook.ts';

export interface TelemetrySubscriberDeps {
  book: TrafficBook;
  /** Also handed every valid summary of a known model (the rollout analysis keeps its own book). */
  also?: (msg: TelemetryMessage) => void;
  /** The fleet a model scores (from the MaintenanceModel cache); undefined when unknown. */
  fleetOf(namespace: string, model: string): string | undefined;
  log: Logger;
  now?: () => number;
}

/**
 * Subscribes `prognos.telemetry.<ns>.>` once per connection and namespace, and turns every runtime's
 * summary into fleet traffic. Status comes from what the runtimes report, never from scraping pods.
 * The fleet reconciler reads the book on its own schedule (see TRAFFIC_WRITE_INTERVAL_MS).
 */
export class TelemetrySubscriber {
  readonly #deps: TelemetrySubscriberDeps;
  readonly #subs = new Map<NatsConnection, Map<string, Subscription>>();

  constructor(deps: TelemetrySubscriberDeps) {
    this.#deps = deps;
  }

  ensure(nc: NatsConnection, namespace: string): void {
    let byNs = this.#subs.get(nc);
    if (!byNs) {
      byNs = new Map();
      this.#subs.set(nc, byNs);
      void nc.closed().then(() => this.#subs.delete(nc));
    }
    if (byNs.has(namespace)) return;
    const sub = nc.subscribe(`prognos.telemetry.${namespace}.>`, {
      callback: (error, msg) => {
        if (error) {
          this.#deps.log.warn({ err: error, namespace }, 'telemetry subscription error');
          return;
        }
        this.#onMessage(namespace, msg.subject, msg.string());
      },
    });
    byNs.set(namespace, sub);
  }

  #onMessage(namespace: string, subject: string, text: string): void {
    let doc: TelemetryMessage;
    try {
      doc = JSON.parse(text) as TelemetryMessage;
    } catch {
      this.#deps.log.debug({ subject }, 'ignoring telemetry that is not JSON');
      return;
    }
    if (
      doc.schema !== 1 ||
      doc.namespace !== namespace ||
      typeof doc.model !== 'string' ||
      typeof doc.counts !== 'object'
    )
      return;
    const fleet = this.#deps.fleetOf(namespace, doc.model);
    if (!fleet) return;
    this.#deps.book.record(doc, fleet, this.#deps.now?.() ?? Date.now());
    this.#deps.also?.(doc);
  }

  close(): void {
    for (const byNs of this.#subs.values()) for (const sub of byNs.values()) sub.unsubscribe();
    this.#subs.clear();
  }
}
