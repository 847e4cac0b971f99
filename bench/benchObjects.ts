// What the operator benchmarks create and measure: one SensorFleet and its MaintenanceModels (the
// same objects in bench:operator and bench:api-cost), and the CPU of the processes a run started.
import { readdirSync, readFileSync } from 'node:fs';
import type { KubernetesObject } from '@kubernetes/client-node';

export const BENCH_NAMESPACE = 'bench';
export const BENCH_FLEET = 'pumps';
export const MODEL_INPUTS = ['vibration', 'temperature', 'vibration.mean'];

/** `stream` adds to spec.stream, e.g. `{ partitions: 20 }`. */
export function fleetManifest(natsUrl: string, stream: Record<string, unknown> = {}): KubernetesObject {
  return {
    apiVersion: 'prognos.dev/v1alpha1',
    kind: 'SensorFleet',
    metadata: { name: BENCH_FLEET, namespace: BENCH_NAMESPACE },
    spec: {
      nats: { url: natsUrl },
      subject: `plant.${BENCH_FLEET}.*.readings`,
      machineId: { subjectToken: 3 },
      stream: { maxAge: '1h', ...stream },
      schema: {
        timestampField: 'ts',
        timestampFormat: 'UnixMillis',
        features: [
          { name: 'vibration', min: 0, max: 50 },
          { name: 'temperature', min: -40, max: 200 },
        ],
      },
      windows: [{ feature: 'vibration', size: 10, aggregations: ['mean'] }],
      deletionPolicy: 'Delete',
    },
  } as KubernetesObject;
}

/** A single-replica classifier (the default replicas) over MODEL_INPUTS; `spec` adds to its spec. */
export function modelManifest(
  name: string,
  artifact: { version: string; uri: string; sha256: string },
  labels: Record<string, string> = {},
  spec: Record<string, unknown> = {},
): KubernetesObject {
  return {
    apiVersion: 'prognos.dev/v1alpha1',
    kind: 'MaintenanceModel',
    metadata: { name, namespace: BENCH_NAMESPACE, labels },
    spec: {
      fleetRef: { name: BENCH_FLEET },
      task: 'classification',
      model: { version: artifact.version, uri: artifact.uri, sha256: artifact.sha256, inputs: MODEL_INPUTS },
      thresholds: { warning: 0.5, critical: 0.8 },
      serving: { replicas: 1, batching: { maxBatch: 64, maxDelayMs: 5 } },
      ...spec,
    },
  } as KubernetesObject;
}

/**
 * CPU-seconds (user + system) so far of each direct child of this process, by command name: etcd,
 * kube-apiserver, kube-controller (the kernel truncates kube-controller-manager), nats-server, and
 * node children as `node` (or `MainThread`).
 */
export function childCpuSeconds(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue;
    }
    // pid (comm) state ppid ... utime(14) stime(15): fields after the closing parenthesis.
    const close = stat.lastIndexOf(')');
    const comm = stat.slice(stat.indexOf('(') + 1, close);
    const fields = stat.slice(close + 2).split(' ');
    if (Number(fields[1]) !== process.pid) continue;
    out[comm] = (out[comm] ?? 0) + (Number(fields[11]) + Number(fields[12])) / 100;
  }
  return out;
}
