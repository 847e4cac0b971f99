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

export interface NatsOutput {
  publish(result: PipelineResult): void;
}

export function createNatsOutput(nc: NatsConnection, config: RuntimeConfig): NatsOutput {
  const encoder = new TextEncoder();
  const { namespace, model, role } = config;
  const deadLetters = deadLetterSubject(namespace, config.fleet);
  const source = { model, version: config.version };
  return {
    publish(result) {
      for (const p of result.predictions) {
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
