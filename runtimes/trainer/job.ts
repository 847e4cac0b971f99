// `prognos-trainer job`: the RetrainPolicy's training Job. From the TrainingRequest it connects to
// the fleet's NATS as the fleet's runtimes do, replays the data window from JetStream, trains as
// `train` does on files (trainOn), scores the stable on the same holdout, uploads the candidate to
// the object store and returns the TrainingResult for the termination message.
import { Objm } from '@nats-io/obj';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { DEFAULT_ARTIFACT_TIMEOUT_MS, readArtifact } from '../../contracts/artifactStore.ts';
import type { TrainingRequest, TrainingResult } from '../../contracts/training.ts';
import { natsEndpointOptions } from '../inference/input/natsConnection.ts';
import { fetchArtifact, sha256Hex } from '../inference/scoring/artifact.ts';
import { manifestsOf, runtimeConfigOf, type Manifests } from './manifests.ts';
import { replayFleet } from './streamReplay.ts';
import { assertTrainable, trainOn, type TrainParams, type TrainReport } from './train.ts';
import { candidateObjectName, checkGateMetric, metricValue } from './trainingRequest.ts';

export interface JobOutput {
  result: TrainingResult;
  /** The full training report (also in the artifact's metadata), for the pod's log. */
  report: TrainReport;
}

async function connectFleet(manifests: Manifests, request: TrainingRequest): Promise<NatsConnection> {
  const { nats } = runtimeConfigOf(manifests);
  try {
    // Unlike a runtime, a Job does not wait for NATS for ever: failing lets the Job's backoffLimit
    // and the policy decide, and the reason reaches the termination message.
    return await connect({
      ...natsEndpointOptions(nats),
      name: `prognos-trainer ${request.namespace}/${request.policy}`,
      maxReconnectAttempts: 10,
      reconnectTimeWait: 1000,
    });
  } catch (error) {
    throw new Error(`cannot connect to NATS ${nats.servers.join(',')}: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

/** The serving artifact's bytes, read and verified as the runtime reads it (CA and size limit included). */
async function fetchStable(
  manifests: Manifests,
  stable: NonNullable<TrainingRequest['stable']>,
  objm: Objm,
): Promise<Uint8Array> {
  const { artifact } = runtimeConfigOf(manifests, { ...stable, inputs: manifests.model.spec.model.inputs });
  try {
    return await fetchArtifact(
      { uri: stable.uri, sha256: stable.sha256, ...(artifact?.caFile ? { caFile: artifact.caFile } : {}) },
      {
        readObject: (uri, maxBytes) =>
          readArtifact(uri, {
            maxBytes,
            timeoutMs: DEFAULT_ARTIFACT_TIMEOUT_MS,
            objectStore: (bucket) => objm.open(bucket),
          }),
        ...(artifact?.maxBytes ? { maxBytes: artifact.maxBytes } : {}),
      },
    );
  } catch (error) {
    throw new Error(`the stable ${stable.version}: ${(error as Error).message}`, { cause: error });
  }
}

/** Uploads the candidate and reads it back through the artifact store: the reported digest is what is stored. */
async function upload(
  objm: Objm,
  bucket: string,
  name: string,
  artifact: Uint8Array,
): Promise<{ uri: string; sha256: string }> {
  const store = await objm.create(bucket); // binds the bucket when it exists
  await store.putBlob({ name }, artifact);
  const uri = `nats-os://${bucket}/${name}`;
  const stored = await readArtifact(uri, {
    maxBytes: artifact.length,
    timeoutMs: DEFAULT_ARTIFACT_TIMEOUT_MS,
    objectStore: (b) => objm.open(b),
  });
  const sha256 = sha256Hex(stored);
  if (sha256 !== sha256Hex(artifact)) throw new Error(`${uri}: the stored object differs from the upload`);
  return { uri, sha256 };
}

/** Training reads spec only; the status the API server returned along is neither needed nor checked. */
function withoutStatus(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(Object.entries(value).filter(([key]) => key !== 'status'));
}

export async function runTrainingJob(
  request: TrainingRequest,
  params: Omit<TrainParams, 'version'>,
  log: (line: string) => void,
  now = Date.now(),
): Promise<JobOutput> {
  const started = performance.now();
  const manifests = manifestsOf(withoutStatus(request.fleet), withoutStatus(request.model), {
    fleet: 'request.fleet',
    model: 'request.model',
  });
  const { fleet, model } = manifests;
  assertTrainable(model.spec.task);
  checkGateMetric(model.spec.task, request.metric);
  const nc = await connectFleet(manifests, request);
  try {
    const objm = new Objm(nc);
    const replay = await replayFleet(nc, fleet, request.dataWindowMs, now);
    log(
      `replayed ${replay.messages.length} readings from ${replay.streams.readings} and ` +
        `${replay.events.length} events from ${replay.streams.labels} over ${request.dataWindowMs} ms`,
    );
    const stable = request.stable ? await fetchStable(manifests, request.stable, objm) : undefined;
    const { artifact, report } = await trainOn(
      {
        manifests,
        messages: replay.messages,
        events: replay.events,
        source: `stream ${replay.streams.readings}`,
        ...(stable ? { stable } : {}),
      },
      { ...params, version: request.candidateVersion },
      started,
    );
    if (!report.metrics)
      throw new Error(
        `no holdout rows to evaluate on (${report.rows.labelled} labelled rows): widen the data window or the holdout`,
      );
    const name = candidateObjectName(request.namespace, model.metadata.name!, request.candidateVersion);
    const stored = await upload(objm, request.bucket, name, artifact);
    log(`uploaded ${artifact.length} bytes to ${stored.uri} (sha256 ${stored.sha256})`);
    const result: TrainingResult = {
      candidate: { version: request.candidateVersion, ...stored },
      metric: request.metric,
      candidateMetric: metricValue(report.metrics, request.metric),
      ...(report.stableMetrics ? { stableMetric: metricValue(report.stableMetrics, request.metric) } : {}),
      rows: { train: report.rows.train, holdout: report.rows.holdout },
      ...(replay.warnings.length > 0 ? { warning: replay.warnings.join('; ') } : {}),
    };
    return { result, report };
  } finally {
    await nc.close();
  }
}
