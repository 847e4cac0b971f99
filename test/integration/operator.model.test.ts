// MaintenanceModel against the real cluster, NATS and pod runner: children with owner references,
// Ready once the runtime pods are, the split in KV, drift repaired, bad references reported while
// the verified version keeps serving, and deletion cleaning up. A model never verified serves its
// fallback rules alone until a version verifies, or nothing without rules.
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { jetstream } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import type { PrognosOperator } from '../../operator/prognosOperator.ts';
import { buildUnknownOpModel } from '../../contracts/onnx/buildModel.ts';
import {
  applyObject,
  createNamespace,
  deleteNamespace,
  eventually,
  fleetManifest,
  getJson,
  installCrds,
  MODEL_INPUTS,
  type ModelFile,
  modelManifest,
  natsClient,
  ok,
  startOperator,
  tempDir,
  waitCondition,
  writeModel,
} from './operatorHarness.ts';

let ns: string;
let operator: PrognosOperator;
let nc: NatsConnection;
let dir: string;
let v1: ModelFile;
let v2: ModelFile;

async function splitValue(key: string): Promise<unknown> {
  const kv = await new Kvm(nc).open('prognos-rollouts');
  const entry = await kv.get(key);
  return entry && entry.operation === 'PUT' ? entry.json() : undefined;
}

async function servedVersion(name: string): Promise<string | undefined> {
  const cm = await getJson(ns, `configmap/${name}-runtime`);
  return cm?.data?.['runtime.yaml']?.match(/^version: (\S+)$/m)?.[1];
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read arbitrary fields of the runtime config
async function runtimeYaml(name: string): Promise<any> {
  const cm = await getJson(ns, `configmap/${name}-runtime`);
  return cm ? parseYaml(cm.data['runtime.yaml']) : undefined;
}

beforeAll(async () => {
  await installCrds();
  ns = await createNamespace('op-model');
  operator = await startOperator(ns);
  ({ nc } = await natsClient());
  dir = tempDir();
  v1 = writeModel(dir, 'v1.onnx', 1);
  v2 = writeModel(dir, 'v2.onnx', 2);
  await applyObject(fleetManifest(ns, 'pumps'));
});

afterAll(async () => {
  await operator?.stop();
  await nc?.close();
  await deleteNamespace(ns);
});

describe('MaintenanceModel lifecycle', () => {
  it('creates owned children, becomes Ready when the runtime pod is, and writes the split', async () => {
    await applyObject(modelManifest(ns, 'pump-failure', 'pumps', { version: 'v1', ...v1 }));
    await waitCondition(ns, 'mm/pump-failure', 'Ready', 'True', 'Serving', 120_000);
    const mm = await getJson(ns, 'mm/pump-failure');
    expect(mm.status).toMatchObject({
      phase: 'Stable',
      stable: { version: 'v1', sha256: v1.sha256 },
      readyReplicas: 1,
      endpoint: `pump-failure.${ns}.svc:50051`,
      observedGeneration: mm.metadata.generation,
    });
    for (const what of [
      'configmap/pump-failure-runtime',
      'deployment/pump-failure',
      'service/pump-failure',
    ]) {
      const child = await getJson(ns, what);
      expect(child?.metadata.ownerReferences, what).toEqual([
        expect.objectContaining({
          kind: 'MaintenanceModel',
          name: 'pump-failure',
          uid: mm.metadata.uid,
          controller: true,
        }),
      ]);
    }
    // One replica: no budget could protect it (see podDisruptionBudget.ts).
    expect(await getJson(ns, 'pdb/pump-failure')).toBeUndefined();
    const dep = await getJson(ns, 'deployment/pump-failure');
    expect(dep.spec.template.spec.containers[0]).toMatchObject({
      image: 'ghcr.io/prognos/prognos:0.1.0',
      command: ['prognos-inference'],
      args: ['--config', '/etc/prognos/runtime.yaml'],
    });
    await eventually(
      'the split names v1',
      async () => JSON.stringify(await splitValue(`${ns}.pump-failure`)) === '{"stable":{"version":"v1"}}',
    );
  });

  it('puts back a deleted Deployment and reverts an edited one', async () => {
    const before = await getJson(ns, 'deployment/pump-failure');
    await ok(['delete', '-n', ns, 'deployment/pump-failure', '--wait=false']);
    await eventually('a new Deployment', async () => {
      const d = await getJson(ns, 'deployment/pump-failure');
      return d && d.metadata.uid !== before.metadata.uid && !d.metadata.deletionTimestamp;
    });
    await ok(['scale', '-n', ns, 'deployment/pump-failure', '--replicas=3']);
    await eventually(
      'replicas back to 1',
      async () => (await getJson(ns, 'deployment/pump-failure'))?.spec.replicas === 1,
    );
    await ok(['delete', '-n', ns, 'service/pump-failure', '--wait=false']);
    await eventually(
      'the Service is back',
      async () => (await getJson(ns, 'service/pump-failure')) !== undefined,
    );
    await waitCondition(ns, 'mm/pump-failure', 'Ready', 'True', undefined, 120_000);
  });

  it('a PodDisruptionBudget guards two replicas and goes when scaled back to one', async () => {
    const serving = (replicas: number) => ({
      serving: { replicas, batching: { maxBatch: 64, maxDelayMs: 5 } },
    });
    const mm = await getJson(ns, 'mm/pump-failure');
    await applyObject(modelManifest(ns, 'pump-failure', 'pumps', { version: 'v1', ...v1 }, serving(2)));
    await eventually('a budget of one unavailable pod', async () => {
      const pdb = await getJson(ns, 'pdb/pump-failure');
      return (
        pdb?.spec.maxUnavailable === 1 &&
        pdb.metadata.ownerReferences?.[0]?.uid === mm.metadata.uid &&
        pdb.spec.selector.matchLabels['prognos.dev/model'] === 'pump-failure'
      );
    });
    await applyObject(modelManifest(ns, 'pump-failure', 'pumps', { version: 'v1', ...v1 }, serving(1)));
    await eventually('the budget is gone', async () => (await getJson(ns, 'pdb/pump-failure')) === undefined);
    await waitCondition(ns, 'mm/pump-failure', 'Ready', 'True', undefined, 120_000);
  });

  it('a digest mismatch is refused with an Event; v1 keeps serving', async () => {
    await applyObject(
      modelManifest(ns, 'pump-failure', 'pumps', { version: 'v2', uri: v2.uri, sha256: v1.sha256 }),
    );
    const c = await waitCondition(
      ns,
      'mm/pump-failure',
      'ArtifactVerified',
      'False',
      'ArtifactDigestMismatch',
    );
    expect(c.message).toContain(v2.sha256);
    expect(await servedVersion('pump-failure')).toBe('v1');
    expect((await getJson(ns, 'mm/pump-failure')).status.stable.version).toBe('v1');
    await waitCondition(ns, 'mm/pump-failure', 'Available', 'True');
    await eventually('an ArtifactDigestMismatch Event', async () =>
      (await ok(['get', 'events.events.k8s.io', '-n', ns, '-o', 'jsonpath={.items[*].reason}'])).includes(
        'ArtifactDigestMismatch',
      ),
    );
  });

  it('a missing artifact file is refused; v1 keeps serving', async () => {
    await applyObject(
      modelManifest(ns, 'pump-failure', 'pumps', {
        version: 'v2',
        uri: `file://${dir}/missing.onnx`,
        sha256: v2.sha256,
      }),
    );
    await waitCondition(ns, 'mm/pump-failure', 'ArtifactVerified', 'False', 'ArtifactNotFound');
    expect(await servedVersion('pump-failure')).toBe('v1');
  });

  it('ONNX inputs that do not match spec.model.inputs are refused; v1 keeps serving', async () => {
    const wide = writeModel(dir, 'wide.onnx', 3, 5);
    await applyObject(modelManifest(ns, 'pump-failure', 'pumps', { version: 'v2', ...wide }));
    const c = await waitCondition(ns, 'mm/pump-failure', 'ArtifactVerified', 'False', 'InvalidOnnxInputs');
    expect(c.message).toMatch(/5 columns but spec.model.inputs lists 3/);
    expect(await servedVersion('pump-failure')).toBe('v1');
  });

  it('a model ONNX Runtime cannot load is refused before any pod gets it; v1 keeps serving', async () => {
    const { bytes } = buildUnknownOpModel(MODEL_INPUTS.length);
    const path = join(dir, 'unknown-op.onnx');
    writeFileSync(path, bytes);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    await applyObject(
      modelManifest(ns, 'pump-failure', 'pumps', { version: 'v2', uri: `file://${path}`, sha256 }),
    );
    const c = await waitCondition(ns, 'mm/pump-failure', 'ArtifactVerified', 'False', 'ArtifactInvalid');
    expect(c.message).toMatch(/the inference runtime cannot serve .*PrognosNoSuchOp/);
    expect(await servedVersion('pump-failure')).toBe('v1');
    await waitCondition(ns, 'mm/pump-failure', 'Available', 'True');
  });

  it('inputs the fleet cannot compute are refused; v1 keeps serving', async () => {
    await applyObject(
      modelManifest(ns, 'pump-failure', 'pumps', {
        version: 'v2',
        ...v2,
        inputs: ['vibration', 'temperature', 'vibration.rms'],
      }),
    );
    const c = await waitCondition(ns, 'mm/pump-failure', 'FleetBound', 'False', 'InputsNotInFleet');
    expect(c.message).toMatch(/vibration.rms/);
    expect(await servedVersion('pump-failure')).toBe('v1');
  });

  it('a verified new version replaces v1', async () => {
    await applyObject(modelManifest(ns, 'pump-failure', 'pumps', { version: 'v2', ...v2 }));
    await eventually(
      'stable v2 and Ready',
      async () => {
        const mm = await getJson(ns, 'mm/pump-failure');
        const ready = mm?.status?.conditions?.find((c: { type: string }) => c.type === 'Ready');
        return mm?.status?.stable?.version === 'v2' && ready?.status === 'True';
      },
      120_000,
    );
    await eventually(
      'the split names v2',
      async () => JSON.stringify(await splitValue(`${ns}.pump-failure`)) === '{"stable":{"version":"v2"}}',
    );
  });

  it('an idle model and fleet cost no API writes', async () => {
    await new Promise((r) => setTimeout(r, 3_000));
    const versions = async () =>
      Promise.all(
        ['mm/pump-failure', 'sf/pumps', 'deployment/pump-failure', 'configmap/pump-failure-runtime'].map(
          async (w) => (await getJson(ns, w))?.metadata.resourceVersion,
        ),
      );
    const before = await versions();
    // Longer than the fleet's telemetry poll (15 s): runtimes keep reporting, nothing may change.
    await new Promise((r) => setTimeout(r, 20_000));
    expect(await versions()).toEqual(before);
  });

  it('a missing fleet is reported with an Event and nothing is deployed', async () => {
    await applyObject(modelManifest(ns, 'orphan', 'no-such-fleet', { version: 'v1', ...v1 }));
    const c = await waitCondition(ns, 'mm/orphan', 'FleetBound', 'False', 'FleetNotFound');
    expect(c.message).toContain('no-such-fleet');
    expect((await getJson(ns, 'mm/orphan')).status.phase).toBe('Degraded');
    expect(await getJson(ns, 'deployment/orphan')).toBeUndefined();
    await eventually('a FleetNotFound Event', async () =>
      (await ok(['get', 'events.events.k8s.io', '-n', ns, '-o', 'jsonpath={.items[*].reason}'])).includes(
        'FleetNotFound',
      ),
    );
  });

  it('deleting the model removes its children and its KV key', async () => {
    await ok(['delete', '-n', ns, 'mm/pump-failure', '--timeout=60s']);
    expect(await splitValue(`${ns}.pump-failure`)).toBeUndefined();
    await eventually(
      'children garbage-collected',
      async () => (await getJson(ns, 'deployment/pump-failure')) === undefined,
      90_000,
    );
    await eventually(
      'ConfigMap garbage-collected',
      async () => (await getJson(ns, 'configmap/pump-failure-runtime')) === undefined,
      90_000,
    );
  });
});

describe('a model no version of which was ever verified', () => {
  const fallback = { rules: [{ feature: 'temperature', above: 95, severity: 'critical' }] };

  it('serves its fallback rules alone (Degraded), then the model once a version verifies', async () => {
    const wrong = { version: 'v1', uri: v1.uri, sha256: v2.sha256 };
    await applyObject(modelManifest(ns, 'rules-first', 'pumps', wrong, { fallback }));
    await waitCondition(ns, 'mm/rules-first', 'Available', 'True', undefined, 120_000);
    const ready = await waitCondition(ns, 'mm/rules-first', 'Ready', 'False', 'FallbackOnly');
    expect(ready.message).toBe(
      'no verified model (ArtifactDigestMismatch); 1 fallback rule(s) score readings',
    );
    let mm = await getJson(ns, 'mm/rules-first');
    expect(mm.status.phase).toBe('Degraded');
    expect(mm.status.stable).toBeUndefined();
    const config = await runtimeYaml('rules-first');
    expect(config.artifact).toBeUndefined();
    expect(config).toMatchObject({ version: 'fallback', fallback });
    const before = await getJson(ns, 'deployment/rules-first');
    await eventually(
      'the split names the fallback version',
      async () =>
        JSON.stringify(await splitValue(`${ns}.rules-first`)) === '{"stable":{"version":"fallback"}}',
    );

    // A hot machine gets a critical prediction from the rules.
    const predictions: Record<string, unknown>[] = [];
    const sub = nc.subscribe(`prognos.predictions.${ns}.rules-first.>`, {
      callback: (_err, msg) => void predictions.push(msg.json()),
    });
    const js = jetstream(nc);
    await eventually('a fallback prediction', async () => {
      await js.publish(
        `${ns}.pumps.hot-1.readings`,
        JSON.stringify({ ts: Date.now(), vibration: 3, temperature: 120 }),
      );
      await new Promise((r) => setTimeout(r, 300));
      return predictions.length > 0;
    });
    sub.unsubscribe();
    expect(predictions[0]).toMatchObject({
      machineId: 'hot-1',
      severity: 'critical',
      fallback: true,
      modelVersion: 'fallback',
    });

    // The right digest: the ConfigMap gets the artifact, the pods roll, v1 becomes the stable.
    await applyObject(modelManifest(ns, 'rules-first', 'pumps', { version: 'v1', ...v1 }, { fallback }));
    mm = await eventually(
      'stable v1 and Ready',
      async () => {
        const m = await getJson(ns, 'mm/rules-first');
        const r = m?.status?.conditions?.find((c: { type: string }) => c.type === 'Ready');
        return m?.status?.stable?.version === 'v1' && r?.status === 'True' ? m : undefined;
      },
      120_000,
    );
    expect(mm.status.phase).toBe('Stable');
    expect((await runtimeYaml('rules-first')).artifact).toMatchObject({ uri: v1.uri, sha256: v1.sha256 });
    const after = await getJson(ns, 'deployment/rules-first');
    expect(after.metadata.uid).toBe(before.metadata.uid);
    expect(after.spec.template.metadata.annotations['prognos.dev/config-hash']).not.toBe(
      before.spec.template.metadata.annotations['prognos.dev/config-hash'],
    );
    await eventually(
      'the split names v1',
      async () => JSON.stringify(await splitValue(`${ns}.rules-first`)) === '{"stable":{"version":"v1"}}',
    );
  });

  it('without fallback rules nothing is deployed', async () => {
    await applyObject(
      modelManifest(ns, 'no-rules', 'pumps', { version: 'v1', uri: v1.uri, sha256: v2.sha256 }),
    );
    await waitCondition(ns, 'mm/no-rules', 'Ready', 'False', 'ArtifactDigestMismatch');
    const mm = await getJson(ns, 'mm/no-rules');
    expect(mm.status.phase).toBe('Degraded');
    expect(await getJson(ns, 'deployment/no-rules')).toBeUndefined();
    expect(await getJson(ns, 'configmap/no-rules-runtime')).toBeUndefined();
  });
});
