// The runtimes' telemetry windows kept for rollout analysis: per model, role and version, the last
// few minutes of windows, so an analysis interval can be measured at any time (level-based: nothing
// is accumulated between reconciles). Fed by the fleet controller's telemetry subscription.
import type { TelemetryMessage } from '../../../../contracts/telemetry.ts';
import { EMPTY_MEASUREMENT, mergeHistograms, type Measurement } from './analysis.ts';

/** Longer than any analysis interval the book is asked for, with room for telemetry's own delay. */
export const RETAIN_MS = 15 * 60_000;
/** A replica publishes a window every 5 s by default: bounded memory even with a short period. */
const MAX_WINDOWS_PER_KEY = 2_000;

interface Window {
  to: number;
  counts: TelemetryMessage['counts'];
  latencyMs: TelemetryMessage['latencyMs'];
  scores: TelemetryMessage['scores'];
  shadow: TelemetryMessage['shadow'];
}

export class RolloutTelemetryBook {
  readonly #windows = new Map<string, Window[]>();

  static key(namespace: string, model: string, role: string, version: string): string {
    return `${namespace}/${model}/${role}/${version}`;
  }

  record(msg: TelemetryMessage): void {
    const key = RolloutTelemetryBook.key(msg.namespace, msg.model, msg.role, msg.version);
    const list = this.#windows.get(key) ?? [];
    list.push({
      to: msg.to,
      counts: msg.counts,
      latencyMs: msg.latencyMs,
      scores: msg.scores,
      shadow: msg.shadow,
    });
    const horizon = msg.to - RETAIN_MS;
    let drop = 0;
    while (drop < list.length && (list[drop]!.to < horizon || list.length - drop > MAX_WINDOWS_PER_KEY))
      drop++;
    this.#windows.set(key, drop > 0 ? list.slice(drop) : list);
  }

  /** What `role`/`version` of the model reported in windows ending in (from, to], epoch ms. */
  measure(
    namespace: string,
    model: string,
    role: string,
    version: string,
    from: number,
    to: number,
  ): Measurement {
    const list = this.#windows.get(RolloutTelemetryBook.key(namespace, model, role, version));
    if (!list) return EMPTY_MEASUREMENT;
    const m: Measurement = { ...EMPTY_MEASUREMENT };
    for (const w of list) {
      if (w.to <= from || w.to > to) continue;
      m.messages += w.counts.messages;
      m.predictions += w.counts.predictions;
      m.deadLetters += w.counts.deadLetters;
      m.fallback += w.counts.fallback;
      m.latencyMs = mergeHistograms(m.latencyMs, w.latencyMs);
      m.scores = mergeHistograms(m.scores, w.scores);
      m.shadowCompared += w.shadow?.compared ?? 0;
      m.shadowAgreed += w.shadow?.agreed ?? 0;
    }
    return m;
  }

  /** Forgets a model (deleted). */
  forget(namespace: string, model: string): void {
    const prefix = `${namespace}/${model}/`;
    for (const key of this.#windows.keys()) if (key.startsWith(prefix)) this.#windows.delete(key);
  }
}
