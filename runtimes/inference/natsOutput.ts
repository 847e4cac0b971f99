// Publishes a processed batch: predictions on prognos.predictions.<ns>.<model>.<machine>, severity
// transitions on prognos.alerts.<ns>.<model>.<machine>, rejected readings on
// prognos.deadletter.<ns>.<fleet>. Publishes are buffered by the connection and go out in order
// before the batch's acks (same connection), which is what makes JetStream mode at-least-once.
//
// Role rules: a shadow publishes predictions (role=shadow) but no alerts, since its answers are
// compared, not acted on. Every version of a model decodes every reading (the split is applied after
// decoding), so only the stable publishes dead letters; the others count them and terminate them.
import type { NatsConnection } from '@nats-io/transport-node';
import type { RuntimeConfig } from './config.ts';
import { buildDeadLetter } from './deadLetterMessage.ts';
import type { PipelineResult } from './pipeline.ts';
import { alertSubject, deadLetterSubject, predictionSubject } from './subjects.ts';

/** Predictions serialised per event-loop turn: JSON with contributions costs ~5-10 µs each, so a
 * 256-row batch in one go would hold the loop for milliseconds. */
export const PUBLISH_CHUNK = 64;

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export interface NatsOutput {
  publish(result: PipelineResult): Promise<void>;
}

export function createNatsOutput(nc: NatsConnection, config: RuntimeConfig): NatsOutput {
  const encoder = new TextEncoder();
  const { namespace, model, role } = config;
  const deadLetters = deadLetterSubject(namespace, config.fleet);
  const source = { model, version: config.version };
  return {
    async publish(result) {
      const predictions = result.predictions;
      for (let i = 0; i < predictions.length; i++) {
        if (i > 0 && i % PUBLISH_CHUNK === 0) await nextTurn();
        const p = predictions[i]!;
        nc.publish(predictionSubject(namespace, model, p.machineId), encoder.encode(JSON.stringify(p)));
      }
      if (role !== 'shadow') {
        for (const a of result.alerts) {
          nc.publish(alertSubject(namespace, model, a.machineId), encoder.encode(JSON.stringify(a)));
        }
      }
      if (role === 'stable') {
        for (const d of result.deadLetters) {
          nc.publish(deadLetters, encoder.encode(JSON.stringify(buildDeadLetter(d.rejection, d, source))));
        }
      }
    },
  };
}
