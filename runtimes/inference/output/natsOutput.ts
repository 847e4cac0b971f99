// Publishes a processed batch: predictions on prognos.predictions.<ns>.<model>.<machine>, severity
// transitions on prognos.alerts.<ns>.<model>.<machine>, rejected readings on
// prognos.deadletter.<ns>.<fleet>. Publishes are buffered by the connection and go out in order
// before the batch's acks (same connection), which is what makes JetStream mode at-least-once.
//
// Predictions arrive already encoded (one buffer per batch, built in the pipeline worker), so a
// publish is a subject concatenation and a view of that buffer: a 256-row batch publishes in a few
// hundred microseconds without yielding.
//
// Role rules: a shadow publishes predictions (role=shadow) but no alerts, since its answers are
// compared, not acted on. Every version of a model decodes every reading (the split is applied after
// decoding), so only the stable publishes dead letters; the others count them and terminate them.
import type { NatsConnection } from '@nats-io/transport-node';
import type { RuntimeConfig } from '../../../contracts/runtimeConfig.ts';
import { buildDeadLetter } from './deadLetterMessage.ts';
import type { EncodedBatch } from '../pipeline/pipeline.ts';
import { alertSubject, deadLetterSubject, predictionSubject } from '../../../contracts/subjects.ts';

export interface NatsOutput {
  publish(batch: EncodedBatch): void;
}

export function createNatsOutput(nc: NatsConnection, config: RuntimeConfig): NatsOutput {
  const encoder = new TextEncoder();
  const { namespace, model, role } = config;
  const deadLetters = deadLetterSubject(namespace, config.fleet);
  const predictionPrefix = predictionSubject(namespace, model, '');
  const source = { model, version: config.version };
  return {
    publish(batch) {
      const n = batch.predictionCount;
      if (n > 0) {
        const ids = batch.machineIds.split('\n');
        const bytes = batch.predictionBytes;
        const ends = batch.predictionEnds;
        let start = 0;
        for (let k = 0; k < n; k++) {
          const end = ends[k]!;
          nc.publish(predictionPrefix + ids[k]!, bytes.subarray(start, end));
          start = end;
        }
      }
      if (role !== 'shadow') {
        for (const a of batch.alerts) {
          nc.publish(alertSubject(namespace, model, a.machineId), encoder.encode(JSON.stringify(a)));
        }
      }
      if (role === 'stable') {
        for (const d of batch.deadLetters) {
          nc.publish(deadLetters, encoder.encode(JSON.stringify(buildDeadLetter(d.rejection, d, source))));
        }
      }
    },
  };
}
