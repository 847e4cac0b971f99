import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import { HealthImplementation, protoPath as healthProtoPath } from 'grpc-health-check';
import type { RuntimeConfig } from '../../../contracts/runtimeConfig.ts';
import { callerGate, jwtVerifier } from './grpcAuth.ts';
import { reflectionDefinition } from './reflectionDescriptors.ts';

export const INFERENCE_SERVICE = 'prognos.inference.v1.InferenceService';
export const PROTO_FILE = fileURLToPath(
  new URL('../../../proto/prognos/inference/v1/inference.proto', import.meta.url),
);

/** Readings per PredictBatch call; beyond it the caller should split (keeps one call well under the batch budget). */
export const MAX_BATCH_READINGS = 1024;
/** 1 MiB in: a full PredictBatch of 1024 readings with a few dozen features is ~300 KiB. */
export const MAX_RECEIVE_BYTES = 1024 * 1024;
export const MAX_SEND_BYTES = 4 * 1024 * 1024;
/** Predictions buffered per StreamPredictions call before further ones are skipped. */
export const MAX_STREAM_BUFFERED = 4096;

// Shapes as @grpc/proto-loader decodes/encodes them with the options in loadDefinition().
export interface ReadingMessage {
  machineId: string;
  tsMs: number;
  features: Record<string, number>;
}
export type SeverityName = 'SEVERITY_UNSPECIFIED' | 'SEVERITY_OK' | 'SEVERITY_WARNING' | 'SEVERITY_CRITICAL';
export type RoleName = 'ROLE_UNSPECIFIED' | 'ROLE_STABLE' | 'ROLE_CANARY' | 'ROLE_SHADOW';
export interface PredictionMessage {
  machineId: string;
  tsMs: number;
  score: number;
  severity: SeverityName;
  healthScore: number;
  rul?: number;
  contributions: { feature: string; value: number }[];
  model: string;
  modelVersion: string;
  role: RoleName;
  fallback: boolean;
}
export interface MachineHealthMessage {
  machineId: string;
  severity: SeverityName;
  healthScore: number;
  score: number;
  rul?: number;
  modelVersion: string;
  role: RoleName;
  tsMs: number;
  updatedAtMs: number;
}
export interface FeedbackMessage {
  machineId: string;
  event: string;
  tsMs: number;
  note: string;
}

/** A rejected request field: `field` is the proto path relative to the reading, e.g. `features[vibration]`. */
export interface FieldViolation {
  field: string;
  reason: string;
  detail?: string;
}
export type PredictOutcome =
  { predictions: PredictionMessage[] } | { index: number; violation: FieldViolation };

/** What the gRPC surface needs from the runtime; runtime.ts implements it over the pipeline and NATS. */
export interface InferenceBackend {
  predict(readings: ReadingMessage[]): Promise<PredictOutcome>;
  /** Calls onPrediction for live predictions of every replica; returns the unsubscribe function. */
  subscribePredictions(
    filter: { machineId?: string; includeShadow: boolean },
    onPrediction: (p: PredictionMessage) => void,
  ): () => void;
  machineHealth(machineId: string): Promise<MachineHealthMessage | null>;
  /** Publishes the label; returns its subject, or the violation when the request is invalid. */
  submitFeedback(feedback: FeedbackMessage): Promise<{ subject: string } | { violation: FieldViolation }>;
  observeCall(method: string, code: grpc.status): void;
}

export interface GrpcServerOptions {
  config: RuntimeConfig;
  /** Bind host; runtime.ts passes POD_IP when set. */
  host: string;
  backend: InferenceBackend;
}

export interface RuntimeGrpcServer {
  port: number;
  /** Flips grpc.health.v1 for the whole server and the inference service. */
  setServing(serving: boolean): void;
  /** Stops accepting calls, waits for running ones up to graceMs, then cuts the rest. */
  close(graceMs: number): Promise<void>;
}

/** How the proto is loaded: camelCase fields, numbers for int64, enum names. Clients load it the same way. */
export const PROTO_LOADER_OPTIONS: protoLoader.Options = {
  keepCase: false,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
};

function loadDefinition(): protoLoader.PackageDefinition {
  return protoLoader.loadSync(PROTO_FILE, PROTO_LOADER_OPTIONS);
}

type ServiceHandlers = {
  Predict: grpc.handleUnaryCall<{ reading: ReadingMessage | null }, { prediction: PredictionMessage }>;
  PredictBatch: grpc.handleUnaryCall<{ readings: ReadingMessage[] }, { predictions: PredictionMessage[] }>;
  StreamPredictions: grpc.handleServerStreamingCall<
    { fleet?: string; machineId?: string; target?: 'fleet' | 'machineId'; includeShadow: boolean },
    PredictionMessage
  >;
  GetMachineHealth: grpc.handleUnaryCall<{ machineId: string }, MachineHealthMessage>;
  SubmitFeedback: grpc.handleUnaryCall<FeedbackMessage, { subject: string }>;
};

class CallError extends Error {
  readonly code: grpc.status;
  constructor(code: grpc.status, message: string) {
    super(message);
    this.code = code;
  }
}

const invalid = (field: string, reason: string, detail?: string): CallError =>
  new CallError(grpc.status.INVALID_ARGUMENT, `${field}: ${reason}${detail ? ` (${detail})` : ''}`);

/** Milliseconds left before the call's deadline; Infinity when the client set none. */
function remainingMs(call: Pick<grpc.ServerUnaryCall<unknown, unknown>, 'getDeadline'>): number {
  const deadline = call.getDeadline();
  const at = deadline instanceof Date ? deadline.getTime() : deadline;
  return Number.isFinite(at) ? at - Date.now() : Infinity;
}

/** Runs work, failing with DEADLINE_EXCEEDED once the client's deadline has passed (work itself is not interrupted). */
async function withinDeadline<T>(
  call: Pick<grpc.ServerUnaryCall<unknown, unknown>, 'getDeadline'>,
  work: () => Promise<T>,
): Promise<T> {
  const left = remainingMs(call);
  if (left <= 0)
    throw new CallError(grpc.status.DEADLINE_EXCEEDED, 'deadline exceeded before the call was handled');
  if (left === Infinity) return work();
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new CallError(grpc.status.DEADLINE_EXCEEDED, 'deadline exceeded while scoring')),
      left,
    );
  });
  try {
    return await Promise.race([work(), expired]);
  } finally {
    clearTimeout(timer);
  }
}

function unary<Req, Res>(
  method: string,
  backend: InferenceBackend,
  handle: (request: Req, call: grpc.ServerUnaryCall<Req, Res>) => Promise<Res>,
): grpc.handleUnaryCall<Req, Res> {
  return (call, callback) => {
    withinDeadline(call, () => handle(call.request, call)).then(
      (response) => {
        backend.observeCall(method, grpc.status.OK);
        callback(null, response);
      },
      (error: unknown) => {
        const code = error instanceof CallError ? error.code : grpc.status.INTERNAL;
        backend.observeCall(method, code);
        callback({ code, details: error instanceof Error ? error.message : String(error) });
      },
    );
  };
}

function checkReading(reading: ReadingMessage | null | undefined, path: string): ReadingMessage {
  if (!reading) throw invalid(path, 'missing_field');
  return reading;
}

async function predictOrThrow(
  backend: InferenceBackend,
  readings: ReadingMessage[],
  pathOf: (index: number) => string,
): Promise<PredictionMessage[]> {
  const outcome = await backend.predict(readings);
  if ('violation' in outcome) {
    const v = outcome.violation;
    const path = pathOf(outcome.index);
    throw invalid(v.field ? `${path}.${v.field}` : path, v.reason, v.detail);
  }
  return outcome.predictions;
}

function handlers(config: RuntimeConfig, backend: InferenceBackend): ServiceHandlers {
  return {
    Predict: unary('Predict', backend, async (req) => {
      const reading = checkReading(req.reading, 'reading');
      const [prediction] = await predictOrThrow(backend, [reading], () => 'reading');
      return { prediction: prediction! };
    }),
    PredictBatch: unary('PredictBatch', backend, async (req) => {
      if (req.readings.length === 0) throw invalid('readings', 'empty');
      if (req.readings.length > MAX_BATCH_READINGS)
        throw invalid('readings', 'too_many', `at most ${MAX_BATCH_READINGS}`);
      const predictions = await predictOrThrow(backend, req.readings, (i) => `readings[${i}]`);
      return { predictions };
    }),
    StreamPredictions: (call) => {
      const req = call.request;
      const fail = (error: CallError): void => {
        backend.observeCall('StreamPredictions', error.code);
        // grpc-js turns an emitted error into the stream's final status.
        call.emit('error', Object.assign(error, { details: error.message }));
      };
      if (req.target === 'fleet' && req.fleet !== config.fleet) {
        fail(
          new CallError(
            grpc.status.NOT_FOUND,
            `fleet: this model serves fleet "${config.fleet}", not "${req.fleet}"`,
          ),
        );
        return;
      }
      if (req.target === 'machineId' && !req.machineId) {
        fail(invalid('machine_id', 'empty'));
        return;
      }
      if (req.target === undefined) {
        fail(invalid('target', 'missing_field', 'set fleet or machine_id'));
        return;
      }
      const filter =
        req.target === 'machineId'
          ? { machineId: req.machineId!, includeShadow: req.includeShadow }
          : { includeShadow: req.includeShadow };
      // A live view: while a client's unsent buffer is full, its predictions are skipped, so one
      // slow consumer never grows this process's memory.
      const unsubscribe = backend.subscribePredictions(filter, (p) => {
        if (!call.cancelled && call.writableLength < MAX_STREAM_BUFFERED) call.write(p);
      });
      let timer: NodeJS.Timeout | undefined;
      const end = (code: grpc.status): void => {
        unsubscribe();
        clearTimeout(timer);
        backend.observeCall('StreamPredictions', code);
      };
      call.once('cancelled', () => end(grpc.status.CANCELLED));
      const left = remainingMs(call);
      if (left !== Infinity) {
        // A stream "deadline" is the client's chosen end of the subscription: finish it cleanly.
        timer = setTimeout(
          () => {
            end(grpc.status.OK);
            call.end();
          },
          Math.max(0, left - 5),
        );
      }
    },
    GetMachineHealth: unary('GetMachineHealth', backend, async (req) => {
      if (!req.machineId) throw invalid('machine_id', 'empty');
      const health = await backend.machineHealth(req.machineId);
      if (!health)
        throw new CallError(grpc.status.NOT_FOUND, `machine_id: no recent state for "${req.machineId}"`);
      return health;
    }),
    SubmitFeedback: unary('SubmitFeedback', backend, async (req) => {
      const outcome = await backend.submitFeedback(req);
      if ('violation' in outcome)
        throw invalid(outcome.violation.field, outcome.violation.reason, outcome.violation.detail);
      return outcome;
    }),
  };
}

function credentials(config: RuntimeConfig): grpc.ServerCredentials {
  const tls = config.grpc.tls;
  if (!tls) return grpc.ServerCredentials.createInsecure();
  if (!tls.certFile || !tls.keyFile) throw new Error('grpc.tls needs certFile and keyFile');
  if (tls.requireClientCert && !tls.caFile) throw new Error('grpc.tls.requireClientCert needs caFile');
  return grpc.ServerCredentials.createSsl(
    tls.caFile ? readFileSync(tls.caFile) : null,
    [{ cert_chain: readFileSync(tls.certFile), private_key: readFileSync(tls.keyFile) }],
    tls.requireClientCert,
  );
}

/**
 * Starts the gRPC server: InferenceService (behind grpc.auth and grpc.rateLimit when configured),
 * grpc.health.v1 and server reflection (always open).
 */
export async function startGrpcServer(opts: GrpcServerOptions): Promise<RuntimeGrpcServer> {
  const definition = loadDefinition();
  const pkg = grpc.loadPackageDefinition(definition) as unknown as {
    prognos: { inference: { v1: { InferenceService: grpc.ServiceClientConstructor } } };
  };
  const { auth, rateLimit } = opts.config.grpc;
  const server = new grpc.Server({
    'grpc.max_receive_message_length': MAX_RECEIVE_BYTES,
    'grpc.max_send_message_length': MAX_SEND_BYTES,
    ...(auth || rateLimit
      ? {
          interceptors: [
            callerGate({
              service: INFERENCE_SERVICE,
              ...(auth ? { verifier: jwtVerifier(auth.jwt) } : {}),
              ...(rateLimit ? { rateLimit } : {}),
              onRefused: (method, code) => opts.backend.observeCall(method, code),
            }),
          ],
        }
      : {}),
  });
  server.addService(pkg.prognos.inference.v1.InferenceService.service, handlers(opts.config, opts.backend));
  const health = new HealthImplementation({ '': 'NOT_SERVING', [INFERENCE_SERVICE]: 'NOT_SERVING' });
  health.addToServer(server);
  // One definition for our service and grpc.health.v1, so reflection describes both.
  new ReflectionService(reflectionDefinition([PROTO_FILE, healthProtoPath])).addToServer(server);

  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${opts.host}:${opts.config.grpc.port}`, credentials(opts.config), (err, bound) =>
      err ? reject(err) : resolve(bound),
    );
  });
  return {
    port,
    setServing(serving) {
      const status = serving ? 'SERVING' : 'NOT_SERVING';
      health.setStatus('', status);
      health.setStatus(INFERENCE_SERVICE, status);
    },
    close: (graceMs) =>
      new Promise<void>((resolve) => {
        const force = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, graceMs);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      }),
  };
}
