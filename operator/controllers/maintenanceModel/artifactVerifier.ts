import { createHash } from 'node:crypto';
import { Objm } from '@nats-io/obj';
import type { NatsConnection } from '@nats-io/transport-node';
import protobuf from 'protobufjs';
import {
  ArtifactReadError,
  DEFAULT_ARTIFACT_TIMEOUT_MS,
  DEFAULT_MAX_ARTIFACT_BYTES,
  readArtifact,
  type ArtifactReadFailure,
} from '../../../contracts/artifactStore.ts';
import type { LoadCheckResult, ModelSpec } from '../../../contracts/loadCheck.ts';
import { BASELINE_KEY, parseBaseline } from '../../../contracts/modelBaseline.ts';
import { checkOnnxInputs, type OnnxSignature, type Refusal } from './inputsCheck.ts';
import { LoadCheckSlots } from './loadCheckSlots.ts';
import { runtimeLoadCheck, type LoadCheck, type LoadVerdict } from './runtimeLoadCheck.ts';

export type FetchResult = { ok: true; bytes: Uint8Array } | { ok: false; refusal: Refusal };
export type VerifyResult = { ok: true; signature: OnnxSignature } | { ok: false; refusal: Refusal };

const CACHE_LIMIT = 512;

/** How the operator reads artifacts: the flags --max-artifact-bytes and --artifact-timeout. */
export interface ArtifactLimits {
  maxBytes: number;
  timeoutMs: number;
}

export const DEFAULT_ARTIFACT_LIMITS: ArtifactLimits = {
  maxBytes: DEFAULT_MAX_ARTIFACT_BYTES,
  timeoutMs: DEFAULT_ARTIFACT_TIMEOUT_MS,
};

/** The condition reason for each way a read fails (docs/operator.md lists them). */
const READ_REASONS: Record<ArtifactReadFailure, string> = {
  not_found: 'ArtifactNotFound',
  timeout: 'ArtifactFetchTimeout',
  too_large: 'ArtifactTooLarge',
  tls: 'ArtifactTLSError',
  unreachable: 'ArtifactUnreachable',
  unsupported: 'ArtifactUnreachable',
};

/** Reads an artifact from file://, https:// or nats-os://<bucket>/<object> (on the fleet's NATS). */
export async function fetchArtifact(
  uri: string,
  nats: () => Promise<NatsConnection>,
  opts: ArtifactLimits & { ca?: string; signal?: AbortSignal },
): Promise<FetchResult> {
  try {
    const bytes = await readArtifact(uri, {
      ...opts,
      objectStore: async (bucket) => new Objm(await nats()).open(bucket),
    });
    return { ok: true, bytes };
  } catch (error) {
    // Called off (the term as leader ended): not a verdict about the artifact.
    if (opts.signal?.aborted) throw opts.signal.reason;
    const failure = error instanceof ArtifactReadError ? error.failure : 'unreachable';
    return {
      ok: false,
      refusal: { reason: READ_REASONS[failure], message: `cannot fetch ${uri}: ${(error as Error).message}` },
    };
  }
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * The few ModelProto fields verification reads (field numbers of onnx.proto). Everything else — weights'
 * raw_data, attributes, docs — is skipped by the decoder without being copied.
 */
const SIGNATURE_PROTO = `
syntax = "proto3";
package prognos.onnxsig;
message Dim { oneof value { int64 dim_value = 1; string dim_param = 2; } }
message Shape { repeated Dim dim = 1; }
message TensorType { int32 elem_type = 1; Shape shape = 2; }
message Type { oneof value { TensorType tensor_type = 1; } }
message ValueInfo { string name = 1; Type type = 2; }
message Node { repeated string input = 1; repeated string output = 2; string op_type = 4; }
message Named { string name = 8; }
message Graph { repeated Node node = 1; repeated Named initializer = 5; repeated ValueInfo input = 11; repeated ValueInfo output = 12; }
message Opset { string domain = 1; int64 version = 2; }
message Prop { string key = 1; string value = 2; }
message Model { int64 ir_version = 1; repeated Opset opset_import = 8; Graph graph = 7; repeated Prop metadata_props = 14; }
`;
const ModelType = protobuf
  .parse(SIGNATURE_PROTO, { keepCase: true })
  .root.lookupType('prognos.onnxsig.Model');

interface DecodedValueInfo {
  name: string;
  type?: { tensor_type?: { shape?: { dim: { dim_value?: number; dim_param?: string }[] } } };
}
interface DecodedModel {
  ir_version: number;
  metadata_props: { key?: string; value?: string }[];
  opset_import: { version: number }[];
  graph?: {
    node: { input: string[]; output: string[]; op_type: string }[];
    initializer: { name: string }[];
    input: DecodedValueInfo[];
    output: DecodedValueInfo[];
  };
}

/**
 * The graph's signature read from the ONNX protobuf, as ONNX Runtime reports it (graph inputs that are
 * initializers are not inputs; a static last dimension of a rank ≥ 2 input is its width). Parsing the
 * header instead of creating an ONNX Runtime session keeps the native runtime (~35 MiB of arenas and
 * thread pools) out of the operator. Structural checks only (a ModelProto with an IR version, an opset,
 * nodes, and outputs that some node or input produces): operator kernels are the runtime's to check.
 * The training baseline (`prognos.baseline`, for drift detection) comes along when valid; an invalid
 * one is not a refusal (the runtime serves without it too) but is named in `baselineError`.
 */
export function onnxSignature(bytes: Uint8Array): OnnxSignature {
  const model = ModelType.toObject(ModelType.decode(bytes), {
    longs: Number,
    arrays: true,
    defaults: false,
  }) as DecodedModel;
  const graph = model.graph;
  if (!model.ir_version || !graph) throw new Error('not an ONNX ModelProto (no IR version or graph)');
  if (model.opset_import.length === 0) throw new Error('the model imports no opset');
  if (graph.node.length === 0) throw new Error('the graph has no nodes');
  const initializers = new Set(graph.initializer.map((t) => t.name));
  const inputs = graph.input.filter((i) => !initializers.has(i.name));
  const produced = new Set([
    ...inputs.map((i) => i.name),
    ...initializers,
    ...graph.node.flatMap((n) => n.output),
  ]);
  const dangling = graph.output.find((o) => !produced.has(o.name));
  if (dangling) throw new Error(`graph output ${dangling.name} is produced by no node`);
  const signatureInputs = inputs.map(({ name, type }) => {
    const dims = type?.tensor_type?.shape?.dim ?? [];
    const last = dims.at(-1)?.dim_value;
    const steps = dims.length === 3 ? dims[1]?.dim_value : undefined;
    return {
      name,
      rank: dims.length,
      ...(typeof last === 'number' && last > 0 && dims.length >= 2 ? { width: last } : {}),
      ...(typeof steps === 'number' && steps > 0 ? { sequenceLength: steps } : {}),
    };
  });
  const signature: OnnxSignature = { inputs: signatureInputs, outputs: graph.output.map((o) => o.name) };
  // A later entry of a key wins, as the runtime reads metadata (appended metadata overrides).
  const baselineText = model.metadata_props.findLast((p) => p.key === BASELINE_KEY)?.value;
  if (baselineText !== undefined) {
    const parsed = parseBaseline(
      baselineText,
      signatureInputs.length === 1 ? signatureInputs[0]!.width : undefined,
    );
    if (parsed.ok) signature.baseline = parsed.baseline;
    else signature.baselineError = parsed.error;
  }
  return signature;
}

/** What a runtime would be configured with: the artifact and how it is read (the CA for https://). */
export type ArtifactSpec = ModelSpec & { ca?: string };

const LOAD_REASONS: Record<Extract<LoadCheckResult, { ok: false }>['reason'], string> = {
  invalid_onnx: 'ArtifactInvalid',
  run_failed: 'ArtifactInvalid',
  input_mismatch: 'InvalidOnnxInputs',
  digest_mismatch: 'ArtifactDigestMismatch',
  fetch_failed: 'ArtifactUnreachable',
};

/**
 * Refusals that may not hold next time: the store was down or slow, the object not uploaded yet, the
 * server's certificate not fixed yet, or the load check died. A digest mismatch, an oversized or an
 * invalid artifact stays what it is for the same sha256.
 */
export const RETRIED = new Set([
  'ArtifactUnreachable',
  'ArtifactNotFound',
  'ArtifactFetchTimeout',
  'ArtifactTLSError',
  'ArtifactCheckFailed',
]);

/**
 * Verifies artifacts before anything serves them: fetch, sha256, the graph's signature against
 * spec.model's inputs and output, then the runtime's own load (ONNX Runtime session, signature
 * against the task, one row run; see runtimeLoadCheck.ts). Each verdict is remembered per (artifact,
 * inputs, task, output), so a steady model is not refetched on every reconcile and a changed
 * spec.model is checked once, however many models share the artifact and reconcile at once.
 */
/** Load checks run at once by default: two ~50 MiB processes beside the operator's own memory. */
export const DEFAULT_MAX_LOAD_CHECKS = 2;

export class ArtifactVerifier {
  readonly #verdicts = new Map<string, Promise<VerifyResult>>();
  readonly #slots: LoadCheckSlots;
  /** Checks waiting for a load-check slot: told once they queue, so a reconcile can report it. */
  readonly #queued = new Map<string, { promise: Promise<Refusal>; resolve: (r: Refusal) => void }>();
  /** (uri, sha256) pairs that passed every check: what may keep serving. */
  readonly #verified = new Set<string>();
  readonly #fetch: typeof fetchArtifact;
  readonly #loadCheck: LoadCheck;
  readonly #limits: ArtifactLimits;

  constructor(
    deps: {
      fetch?: typeof fetchArtifact;
      loadCheck?: LoadCheck;
      limits?: ArtifactLimits;
      maxLoadChecks?: number;
    } = {},
  ) {
    this.#fetch = deps.fetch ?? fetchArtifact;
    this.#loadCheck = deps.loadCheck ?? runtimeLoadCheck;
    this.#limits = deps.limits ?? DEFAULT_ARTIFACT_LIMITS;
    this.#slots = new LoadCheckSlots(deps.maxLoadChecks ?? DEFAULT_MAX_LOAD_CHECKS);
  }

  /**
   * The verdict, or a pending refusal (VerificationQueued) as soon as the check has to wait for a
   * load-check slot: the caller reports that and comes back, instead of holding a worker.
   */
  async verifyOrQueued(
    spec: ArtifactSpec,
    nats: () => Promise<NatsConnection>,
    signal?: AbortSignal,
  ): Promise<VerifyResult> {
    const verdict = this.verify(spec, nats, signal);
    const queued = this.#queued.get(keyOf(spec));
    if (!queued) return verdict;
    return Promise.race([verdict, queued.promise.then((refusal) => ({ ok: false as const, refusal }))]);
  }

  #queuedSignal(key: string): { promise: Promise<Refusal>; resolve: (r: Refusal) => void } {
    let signal = this.#queued.get(key);
    if (!signal) {
      let resolve!: (r: Refusal) => void;
      const promise = new Promise<Refusal>((r) => (resolve = r));
      signal = { promise, resolve };
      this.#queued.set(key, signal);
    }
    return signal;
  }

  isVerified(uri: string, sha256: string): boolean {
    return this.#verified.has(`${uri}|${sha256}`);
  }

  /**
   * `signal` calls the check off (fetch, place in line, load check) and rejects with its reason. A
   * check is shared by every caller that asks while it runs; they all reconcile in one controller run,
   * so they share that run's signal.
   */
  verify(
    spec: ArtifactSpec,
    nats: () => Promise<NatsConnection>,
    signal?: AbortSignal,
  ): Promise<VerifyResult> {
    const key = keyOf(spec);
    const known = this.#verdicts.get(key);
    if (known) return known;
    this.#queuedSignal(key);
    const verdict = this.#check(spec, nats, signal);
    this.#verdicts.set(key, verdict);
    // Only deterministic verdicts are kept: the same bytes and spec give the same answer. An
    // unreachable artifact may come back, a crashed or timed-out check may pass next time, and a
    // failure to check at all (the reconcile sees the error) is tried again.
    verdict.then(
      (v) => {
        this.#queued.delete(key);
        if (!v.ok && RETRIED.has(v.refusal.reason)) this.#verdicts.delete(key);
        else {
          if (v.ok) {
            this.#verified.add(`${spec.uri}|${spec.sha256}`);
            if (this.#verified.size > CACHE_LIMIT)
              this.#verified.delete(this.#verified.values().next().value!);
          }
          if (this.#verdicts.size > CACHE_LIMIT) this.#verdicts.delete(this.#verdicts.keys().next().value!);
        }
      },
      () => {
        this.#queued.delete(key);
        this.#verdicts.delete(key);
      },
    );
    return verdict;
  }

  async #check(
    spec: ArtifactSpec,
    nats: () => Promise<NatsConnection>,
    signal: AbortSignal | undefined,
  ): Promise<VerifyResult> {
    const { uri, sha256, ca, ...modelSpec } = spec;
    const fetched = await this.#fetch(uri, nats, {
      ...this.#limits,
      ...(ca !== undefined ? { ca } : {}),
      ...(signal ? { signal } : {}),
    });
    if (!fetched.ok) return fetched;
    const digest = sha256Hex(fetched.bytes);
    if (digest !== sha256) {
      return {
        ok: false,
        refusal: {
          reason: 'ArtifactDigestMismatch',
          message: `${uri} has sha256 ${digest}, spec.model.sha256 is ${sha256}`,
        },
      };
    }
    let signature: OnnxSignature;
    try {
      signature = onnxSignature(fetched.bytes);
    } catch (error) {
      return {
        ok: false,
        refusal: {
          reason: 'ArtifactInvalid',
          message: `${uri} is not a loadable ONNX model: ${(error as Error).message}`,
        },
      };
    }
    const mismatch = checkOnnxInputs(signature, spec.inputs, spec.output);
    if (mismatch) return { ok: false, refusal: mismatch };
    const turn = this.#slots.take(signal);
    if (turn.position !== undefined) {
      this.#queuedSignal(keyOf(spec)).resolve({
        reason: 'VerificationQueued',
        message: `${uri} waits for one of ${this.#slots.limit} load-check slots (${turn.position} in line)`,
        pending: true,
      });
    }
    const release = await turn.ready;
    let loaded: LoadVerdict;
    try {
      loaded = await this.#loadCheck(fetched.bytes, { ...modelSpec, uri, sha256 }, signal);
    } finally {
      release();
    }
    if (!loaded.ok) {
      return {
        ok: false,
        refusal: {
          reason: 'crashed' in loaded ? 'ArtifactCheckFailed' : LOAD_REASONS[loaded.reason],
          message: `the inference runtime cannot serve ${uri}: ${loaded.message}`,
        },
      };
    }
    return { ok: true, signature };
  }
}

/** One verdict per artifact and what it is checked against (CA included: another CA, another read). */
function keyOf(spec: ArtifactSpec): string {
  const ca = spec.ca === undefined ? null : sha256Hex(new TextEncoder().encode(spec.ca));
  return JSON.stringify([spec.uri, spec.sha256, spec.task, spec.inputs, spec.output ?? null, ca]);
}
