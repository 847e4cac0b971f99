// The gRPC surface's backend: scoring, live predictions, machine health and feedback over the core
// pipeline and NATS.
//
// Predict/PredictBatch score in the pipeline worker, through the gRPC sibling of the NATS-fed
// pipeline (Pipeline.sibling): the same decoder (so validation is identical to NATS input), the same
// loaded model and explanations, but per-machine windows that hold only readings sent over gRPC, so
// gRPC traffic can never change what the NATS-fed windows compute, and nothing it scores is
// published. It always scores (the caller asked for this reading, whatever the split), and its
// predictions carry this runtime's version and role.
import type { NatsConnection } from '@nats-io/transport-node';
import type * as grpc from '@grpc/grpc-js';
import type { RuntimeConfig } from '../../../contracts/runtimeConfig.ts';
import type {
  FeedbackMessage,
  FieldViolation,
  InferenceBackend,
  MachineHealthMessage,
  PredictionMessage,
  PredictOutcome,
  ReadingMessage,
  RoleName,
  SeverityName,
} from './grpcServer.ts';
import { buildLabel } from '../input/labels.ts';
import type { MachineHealthState, MachineHealthStore } from '../output/machineHealthStore.ts';
import type { RuntimeMetrics } from './metrics.ts';
import type { Outcome, Prediction } from '../pipeline/pipeline.ts';
import { timestampValue } from '../input/reading.ts';
import { labelSubject, predictionSubject } from '../../../contracts/subjects.ts';

const SEVERITY: Record<Prediction['severity'], SeverityName> = {
  ok: 'SEVERITY_OK',
  warning: 'SEVERITY_WARNING',
  critical: 'SEVERITY_CRITICAL',
};
const ROLE: Record<Prediction['role'], RoleName> = {
  stable: 'ROLE_STABLE',
  canary: 'ROLE_CANARY',
  shadow: 'ROLE_SHADOW',
};

export function toPredictionMessage(p: Prediction, role: Prediction['role'] = p.role): PredictionMessage {
  const message: PredictionMessage = {
    machineId: p.machineId,
    tsMs: p.ts,
    score: p.score,
    severity: SEVERITY[p.severity] ?? 'SEVERITY_UNSPECIFIED',
    healthScore: p.healthScore,
    contributions: Object.entries(p.contributions ?? {}).map(([feature, value]) => ({ feature, value })),
    model: p.model,
    modelVersion: p.modelVersion,
    role: ROLE[role] ?? 'ROLE_UNSPECIFIED',
    fallback: p.fallback,
  };
  if (p.rulCycles !== undefined) message.rul = p.rulCycles;
  return message;
}

export function toMachineHealthMessage(s: MachineHealthState): MachineHealthMessage {
  const message: MachineHealthMessage = {
    machineId: s.machineId,
    severity: SEVERITY[s.severity] ?? 'SEVERITY_UNSPECIFIED',
    healthScore: s.healthScore,
    score: s.score,
    modelVersion: s.modelVersion,
    role: ROLE[s.role] ?? 'ROLE_UNSPECIFIED',
    tsMs: s.ts,
    updatedAtMs: s.updatedAt,
  };
  if (s.rul !== undefined) message.rul = s.rul;
  return message;
}

/** The largest distance from the epoch a Date holds: beyond it no timestamp format can carry a time. */
const MAX_DATE_MS = 8.64e15;

const utf8 = new TextEncoder();
/** The subject tokens of readings from gRPC, per input config: wildcards become `grpc`. */
const subjectTokens = new WeakMap<RuntimeConfig['input'], string[]>();

/** Encodes a gRPC reading as the NATS message the fleet would carry, so the core decoder validates it. */
export function readingAsMessage(
  reading: ReadingMessage,
  config: Pick<RuntimeConfig, 'input' | 'schema'>,
  now: number,
): { subject: string; data: Uint8Array } | FieldViolation {
  for (const name in reading.features) {
    // JSON has no NaN/Infinity: catch them before encoding turns them into null.
    if (!Number.isFinite(reading.features[name])) return { field: `features[${name}]`, reason: 'not_finite' };
  }
  const ts = reading.tsMs || now;
  if (!(Math.abs(ts) <= MAX_DATE_MS))
    return { field: 'ts_ms', reason: 'bad_timestamp', detail: `${ts} is outside the representable range` };
  const source = config.input.machineId;
  const doc: Record<string, unknown> = {
    ...reading.features,
    // ts_ms is always epoch ms; the decoder expects the fleet's declared format.
    [config.schema.timestampField]: timestampValue(ts, config.schema.timestampFormat),
  };
  if ('field' in source) doc[source.field] = reading.machineId;
  let template = subjectTokens.get(config.input);
  if (!template) {
    template = config.input.subject.split('.').map((t) => (t === '*' || t === '>' ? 'grpc' : t));
    subjectTokens.set(config.input, template);
  }
  let subject = template.join('.');
  if ('subjectToken' in source) {
    const tokens = [...template];
    tokens[source.subjectToken - 1] = reading.machineId;
    subject = tokens.join('.');
  }
  return { subject, data: utf8.encode(JSON.stringify(doc)) };
}

/** Maps a decoder field (JSON name, or `subject` for the id token) to the gRPC reading field. */
export function readingFieldOf(
  field: string | undefined,
  config: Pick<RuntimeConfig, 'input' | 'schema'>,
): string {
  const source = config.input.machineId;
  if (field === undefined) return '';
  if (field === 'subject' || ('field' in source && field === source.field)) return 'machine_id';
  if (field === config.schema.timestampField) return 'ts_ms';
  return `features[${field}]`;
}

export interface BackendOptions {
  config: RuntimeConfig;
  nc: NatsConnection;
  /** Scores a call's readings on the gRPC windows (WorkerPipeline.predict; see the file comment). */
  score(messages: { subject: string; data: Uint8Array; receivedAt: number }[]): Promise<Outcome[]>;
  healthStore: MachineHealthStore;
  metrics: RuntimeMetrics;
  now?: () => number;
}

export function createInferenceBackend(opts: BackendOptions): InferenceBackend {
  const { config, nc } = opts;
  const now = opts.now ?? Date.now;
  const decoder = new TextDecoder();
  return {
    async predict(readings): Promise<PredictOutcome> {
      const t = now();
      const messages: { subject: string; data: Uint8Array; receivedAt: number }[] = [];
      for (let i = 0; i < readings.length; i++) {
        const m = readingAsMessage(readings[i]!, config, t);
        if ('field' in m) return { index: i, violation: m };
        messages.push({ ...m, receivedAt: t });
      }
      const outcomes = await opts.score(messages);
      const predictions: PredictionMessage[] = [];
      for (let i = 0; i < outcomes.length; i++) {
        const o = outcomes[i]!;
        if (o.kind === 'dead_letter') {
          const r = o.deadLetter.rejection;
          return {
            index: i,
            violation: { field: readingFieldOf(r.field, config), reason: r.reason, detail: r.detail },
          };
        }
        if (o.kind === 'filtered') throw new Error(`gRPC pipeline filtered machine ${o.machineId}`);
        predictions.push(toPredictionMessage(o.prediction, config.role));
      }
      return { predictions };
    },

    subscribePredictions(filter, onPrediction) {
      const subject = predictionSubject(config.namespace, config.model, filter.machineId ?? '*');
      const sub = nc.subscribe(subject, {
        callback: (_err, msg) => {
          let p: Prediction;
          try {
            p = JSON.parse(decoder.decode(msg.data)) as Prediction;
          } catch {
            return;
          }
          if (p.role === 'shadow' && !filter.includeShadow) return;
          onPrediction(toPredictionMessage(p));
        },
      });
      return () => sub.unsubscribe();
    },

    async machineHealth(machineId) {
      const state = await opts.healthStore.get(machineId);
      return state ? toMachineHealthMessage(state) : null;
    },

    async submitFeedback(feedback: FeedbackMessage) {
      const built = buildLabel(feedback, now(), `grpc:${config.model}`);
      if (!built.ok) return { violation: { field: built.field, reason: built.reason, detail: built.detail } };
      const subject = labelSubject(config.namespace, config.fleet, built.label.machineId);
      nc.publish(subject, new TextEncoder().encode(JSON.stringify(built.label)));
      // Labels are training data: confirm the server has it before answering OK.
      await nc.flush();
      return { subject };
    },

    observeCall(method: string, code: grpc.status) {
      opts.metrics.grpcRequests.inc({ method, code: String(code) });
    },
  };
}
