// Kubernetes manners of the operator, against the real cluster: one Event per condition transition
// (not per reconcile), finalizers that leave other controllers' finalizers alone, and field ownership
// that shows the operator never writes a resource's spec. (Zero writes while idle: operator.model.test.ts.)
import { Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIELD_MANAGER } from '../../operator/framework/apply.ts';
import type { PrognosOperator } from '../../operator/prognosOperator.ts';
import {
  applyObject,
  createNamespace,
  deleteNamespace,
  eventually,
  fleetManifest,
  getJson,
  installCrds,
  type ModelFile,
  modelManifest,
  natsClient,
  ok,
  startOperator,
  tempDir,
  waitCondition,
  writeModel,
} from './operatorHarness.ts';

const FOREIGN = 'example.com/keep-me';

let ns: string;
let operator: PrognosOperator;
let nc: NatsConnection;
let dir: string;
let model: ModelFile;

interface EventItem {
  reason: string;
  type: string;
  regarding: { name: string; kind: string };
  series?: { count: number };
  reportingController: string;
}

async function eventsAbout(name: string): Promise<EventItem[]> {
  const list = JSON.parse(await ok(['get', 'events.events.k8s.io', '-n', ns, '-o', 'json'])) as {
    items: EventItem[];
  };
  return list.items.filter((e) => e.regarding.kind === 'MaintenanceModel' && e.regarding.name === name);
}

/** Reconciles of MaintenanceModels this operator finished (any result). */
async function modelReconciles(): Promise<number> {
  const m = await operator.operator.metrics.reconcileTotal.get();
  return m.values
    .filter((v) => v.labels.controller === 'maintenancemodel')
    .reduce((sum, v) => sum + v.value, 0);
}

beforeAll(async () => {
  await installCrds();
  ns = await createNamespace('op-manners');
  operator = await startOperator(ns);
  ({ nc } = await natsClient());
  dir = tempDir();
  model = writeModel(dir, 'v1.onnx', 31);
});

afterAll(async () => {
  await operator?.stop();
  await nc?.close();
  await deleteNamespace(ns);
});

describe('operator manners', () => {
  it('records one Event per condition transition, not one per reconcile', async () => {
    // No fleet and no artifact yet: both FleetBound and ArtifactVerified turn False.
    const late = join(dir, 'late.onnx');
    const manifest = modelManifest(ns, 'eventful', 'no-such-fleet', {
      version: 'v1',
      uri: `file://${late}`,
      sha256: model.sha256,
    });
    await applyObject(manifest);
    await waitCondition(ns, 'mm/eventful', 'ArtifactVerified', 'False', 'ArtifactNotFound');
    await waitCondition(ns, 'mm/eventful', 'FleetBound', 'False', 'FleetNotFound');

    // Every metadata change of a model is reconciled: force several reconciles on the same failures.
    const before = await modelReconciles();
    for (let i = 0; i < 5; i++) {
      await ok(['annotate', '--overwrite', '-n', ns, 'mm/eventful', `test.prognos.dev/poke=${i}`]);
      await eventually(`reconcile after poke ${i}`, async () => (await modelReconciles()) > before + i);
    }
    await new Promise((r) => setTimeout(r, 1_000)); // Events are written asynchronously
    let events = await eventsAbout('eventful');
    const reasons = (type: string) =>
      events
        .filter((e) => e.type === type)
        .map((e) => `${e.reason}x${e.series?.count ?? 1}`)
        .sort();
    expect(reasons('Warning')).toEqual(['ArtifactNotFoundx1', 'FleetNotFoundx1']);

    // The artifact appears (the sha256 was known): one Normal Event for that transition, and the
    // Warnings are not repeated (the fleet is still missing).
    writeFileSync(late, readFileSync(model.path));
    await ok(['annotate', '--overwrite', '-n', ns, 'mm/eventful', 'test.prognos.dev/poke=artifact']);
    await waitCondition(ns, 'mm/eventful', 'ArtifactVerified', 'True', 'DigestAndInputsVerified');
    for (let i = 0; i < 3; i++)
      await ok(['annotate', '--overwrite', '-n', ns, 'mm/eventful', `test.prognos.dev/poke=again-${i}`]);
    await new Promise((r) => setTimeout(r, 2_000));
    events = await eventsAbout('eventful');
    expect(reasons('Warning')).toEqual(['ArtifactNotFoundx1', 'FleetNotFoundx1']);
    expect(reasons('Normal')).toEqual(['DigestAndInputsVerifiedx1']);
    expect(events.every((e) => e.reportingController === 'prognos.dev/operator')).toBe(true);
    await ok(['delete', '-n', ns, 'mm/eventful', '--timeout=60s']);
  });

  it("adds and removes its finalizer without touching another controller's", async () => {
    await applyObject(fleetManifest(ns, 'pumps'));
    await waitCondition(ns, 'sf/pumps', 'StreamReady', 'True');
    // Created with a foreign finalizer already on it; the artifact is missing so nothing is deployed.
    const manifest = modelManifest(ns, 'guarded', 'pumps', {
      version: 'v1',
      uri: `file://${dir}/missing.onnx`,
      sha256: model.sha256,
    });
    (manifest.metadata as Record<string, unknown>).finalizers = [FOREIGN];
    await applyObject(manifest);
    await waitCondition(ns, 'mm/guarded', 'ArtifactVerified', 'False', 'ArtifactNotFound');
    const live = await getJson(ns, 'mm/guarded');
    expect([...live.metadata.finalizers].sort()).toEqual([FOREIGN, 'prognos.dev/rollout-split'].sort());

    // State the finalizer must clean up: the model's split key.
    const kv = await new Kvm(nc).create('prognos-rollouts', { history: 5 });
    await kv.put(`${ns}.guarded`, JSON.stringify({ stable: { version: 'v0' } }));

    await ok(['delete', '-n', ns, 'mm/guarded', '--wait=false']);
    const deleting = await eventually('our finalizer removed, the foreign one kept', async () => {
      const mm = await getJson(ns, 'mm/guarded');
      return mm?.metadata.deletionTimestamp &&
        JSON.stringify(mm.metadata.finalizers) === JSON.stringify([FOREIGN])
        ? mm
        : undefined;
    });
    expect(deleting.metadata.finalizers).toEqual([FOREIGN]);
    const entry = await kv.get(`${ns}.guarded`);
    expect(entry === null || entry.operation !== 'PUT').toBe(true); // purged by our cleanup
    // It stays until its other owner lets go.
    await new Promise((r) => setTimeout(r, 2_000));
    expect((await getJson(ns, 'mm/guarded'))?.metadata.finalizers).toEqual([FOREIGN]);
    await ok([
      'patch',
      '-n',
      ns,
      'mm/guarded',
      '--type=json',
      '-p',
      JSON.stringify([{ op: 'remove', path: '/metadata/finalizers/0' }]),
    ]);
    await eventually(
      'the model is gone',
      async () => (await getJson(ns, 'mm/guarded')) === undefined,
      30_000,
    );
  });

  it("never writes spec: the operator's managed fields are status and finalizers only", async () => {
    await applyObject(modelManifest(ns, 'owned', 'pumps', { version: 'v1', ...model }));
    await eventually('observedGeneration current', async () => {
      const mm = await getJson(ns, 'mm/owned');
      return mm?.status?.observedGeneration === mm?.metadata.generation;
    });
    await eventually(
      'the Deployment applied',
      async () => (await getJson(ns, 'deployment/owned')) !== undefined,
    );
    for (const what of ['mm/owned', 'sf/pumps']) {
      const full = JSON.parse(await ok(['get', '-n', ns, what, '-o', 'json', '--show-managed-fields'])) as {
        metadata: { managedFields: ManagedFieldsEntry[] };
      };
      const entries = full.metadata.managedFields;
      const ours = entries.filter((e) => e.manager === FIELD_MANAGER);
      // Status through server-side apply on the status subresource; the finalizer through a guarded patch.
      expect(ours.map((e) => `${e.operation}:${e.subresource ?? ''}`).sort(), what).toEqual([
        'Apply:status',
        'Update:',
      ]);
      for (const e of ours) {
        const top = Object.keys(e.fieldsV1 ?? {});
        if (e.subresource === 'status') expect(top, what).toEqual(['f:status']);
        else {
          expect(top, what).toEqual(['f:metadata']);
          expect(Object.keys(e.fieldsV1?.['f:metadata'] ?? {}), what).toEqual(['f:finalizers']);
        }
      }
      // Every manager that owns spec fields is the test's own kubectl apply.
      const specOwners = entries.filter((e) => e.fieldsV1 && 'f:spec' in e.fieldsV1).map((e) => e.manager);
      expect(specOwners, what).toEqual(['test']);
    }
  });
});

interface ManagedFieldsEntry {
  manager: string;
  operation: string;
  subresource?: string;
  fieldsV1?: Record<string, Record<string, unknown> | undefined>;
}
