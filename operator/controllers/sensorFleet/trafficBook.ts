import type { TelemetryMessage } from '../../../contracts/telemetry.ts';
import type { FleetTraffic } from './status.ts';

/** Telemetry older than this no longer describes the present (several runtime periods). */
export const TELEMETRY_FRESH_MS = 30_000;

interface Window {
  fleet: string;
  model: string;
  role: TelemetryMessage['role'];
  seconds: number;
  accepted: number;
  deadLetters: number;
  machines: number;
  /** End of the window (runtime clock), when it accepted any reading. */
  lastAcceptedAt: number | undefined;
  receivedAt: number;
}

/**
 * The latest telemetry window of every runtime instance, folded into per-fleet traffic. Several
 * models may score the same fleet; each sees every reading, so figures are taken from the model that
 * saw most, never summed across models. Within a model, replicas split the readings: summed. Shadows
 * re-score readings a stable already counted and are left out; dead letters come from the stable only,
 * since a canary decodes (and rejects) the same messages.
 */
export class TrafficBook {
  readonly #windows = new Map<string, Window>();
  readonly #lastReading = new Map<string, number>();

  record(msg: TelemetryMessage, fleet: string, receivedAt: number): void {
    const seconds = Math.max(0.001, (msg.to - msg.from) / 1000);
    const accepted = Math.max(0, msg.counts.messages - msg.counts.deadLetters - msg.counts.filtered);
    const fleetKey = `${msg.namespace}/${fleet}`;
    if (accepted > 0 && msg.role !== 'shadow') {
      this.#lastReading.set(fleetKey, Math.max(this.#lastReading.get(fleetKey) ?? 0, msg.to));
    }
    this.#windows.set(`${msg.namespace}/${msg.model}/${msg.instance}/${msg.role}`, {
      fleet: fleetKey,
      model: msg.model,
      role: msg.role,
      seconds,
      accepted,
      deadLetters: msg.counts.deadLetters,
      machines: msg.machines,
      lastAcceptedAt: accepted > 0 ? msg.to : undefined,
      receivedAt,
    });
  }

  /** Traffic of `namespace/fleet` from fresh windows; undefined when no runtime ever reported. */
  traffic(fleetKey: string, now: number): FleetTraffic | undefined {
    const perModel = new Map<string, { rate: number; dead: number; machines: number }>();
    let any = false;
    for (const [key, w] of this.#windows) {
      if (now - w.receivedAt > TELEMETRY_FRESH_MS) {
        this.#windows.delete(key);
        continue;
      }
      if (w.fleet !== fleetKey || w.role === 'shadow') continue;
      any = true;
      const m = perModel.get(w.model) ?? { rate: 0, dead: 0, machines: 0 };
      m.rate += w.accepted / w.seconds;
      if (w.role === 'stable') {
        m.dead += w.deadLetters / w.seconds;
        m.machines += w.machines;
      }
      perModel.set(w.model, m);
    }
    const last = this.#lastReading.get(fleetKey);
    if (!any && last === undefined) return undefined;
    const models = [...perModel.values()];
    const traffic: FleetTraffic = {
      machinesSeen: Math.max(0, ...models.map((m) => m.machines)),
      readingsPerSecond: Math.max(0, ...models.map((m) => m.rate)),
      deadLettersPerSecond: Math.max(0, ...models.map((m) => m.dead)),
    };
    if (last !== undefined) traffic.lastReadingTime = new Date(last);
    return traffic;
  }

  forget(fleetKey: string): void {
    this.#lastReading.delete(fleetKey);
    for (const [key, w] of this.#windows) if (w.fleet === fleetKey) this.#windows.delete(key);
  }
}
