// serving.grpcRoute on the real cluster, with the Gateway API's real standard-channel GRPCRoute CRD
// (copied from its Go module by build-binaries.sh). Without the CRD the model serves as before and its
// GRPCRouteApplied condition and a Warning Event say why there is no route; once the CRD is installed
// the model gets a GRPCRoute to its Service; during a canary the route's backendRefs weight the stable
// and `<model>-canary` Services by the weight the partitions got (20 → 50 → 100, all stable once
// promoted), and an abort sends everything back to the stable at once. Steps advance by the promote
// annotation (one step per annotation), so no readings and no analysis are needed (the rollout tests
// cover those).
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PrognosOperator } from '../../operator/prognosOperator.ts';
import { kubectl, testEnv } from './env.ts';
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
  ok,
  startOperator,
  tempDir,
  waitCondition,
  waitEstablished,
  writeModel,
} from './operatorHarness.ts';

const CRD = 'grpcroutes.gateway.networking.k8s.io';
const ROUTE = `${CRD}/pumps-rul`;

let ns: string;
let operator: PrognosOperator;
let v1: ModelFile;
let v2: ModelFile;
let v3: ModelFile;

const rollout = {
  strategy: 'Canary',
  // Long pauses and analysis intervals: only the promote annotation moves a step.
  steps: [
    { weight: 20, pause: '1h' },
    { weight: 50, pause: '1h' },
  ],
  analysis: { interval: '1h', minSamples: 20, failureLimit: 2 },
};
const grpcRoute = { parentRefs: [{ name: 'edge', sectionName: 'grpc' }], hostnames: ['pumps.example.com'] };

/** `route` null: no serving.grpcRoute. */
function manifest(version: string, file: ModelFile, route: object | null = grpcRoute) {
  return modelManifest(
    ns,
    'pumps-rul',
    'pumps',
    { version, ...file },
    {
      rollout,
      serving: {
        replicas: 1,
        batching: { maxBatch: 64, maxDelayMs: 5 },
        ...(route ? { grpcRoute: route } : {}),
      },
    },
  );
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- status read back as JSON
const model = async (): Promise<any> => getJson(ns, 'mm/pumps-rul');

/** The route's backends as `name=weight`, or undefined while there is no route. */
async function backends(): Promise<string[] | undefined> {
  const route = await getJson(ns, ROUTE);
  return route?.spec.rules[0].backendRefs.map(
    (b: { name: string; weight: number }) => `${b.name}=${b.weight}`,
  );
}

const routedTo = (...want: string[]) =>
  eventually(`the GRPCRoute's backends ${want.join(', ')}`, async () => {
    const got = await backends();
    if (JSON.stringify(got) === JSON.stringify(want)) return got;
    throw new Error(
      `backends ${JSON.stringify(got)}, canary ${JSON.stringify((await model())?.status?.canary)}`,
    );
  });

const routeCondition = async () =>
  (
    (await model())?.status?.conditions as { type: string; status: string; reason: string }[] | undefined
  )?.find((c) => c.type === 'GRPCRouteApplied');

const annotate = (key: string) =>
  ok(['annotate', '--overwrite', '-n', ns, 'mm/pumps-rul', `${key}=${Date.now()}`]);

beforeAll(async () => {
  await installCrds();
  // A cluster reused from an earlier run may still have it: this file starts without.
  await ok(['delete', 'crd', CRD, '--ignore-not-found', '--wait=true']);
  ns = await createNamespace('op-grpcroute');
  operator = await startOperator(ns);
  const dir = tempDir();
  v1 = writeModel(dir, 'v1.onnx', 31);
  v2 = writeModel(dir, 'v2.onnx', 32);
  v3 = writeModel(dir, 'v3.onnx', 33);
  await applyObject(fleetManifest(ns, 'pumps', { stream: { maxAge: '1h', partitions: 10 } }));
  await waitCondition(ns, 'sf/pumps', 'StreamReady', 'True', undefined, 30_000);
});

afterAll(async () => {
  await operator?.stop();
  if (ns) await deleteNamespace(ns);
  await kubectl(['delete', 'crd', CRD, '--ignore-not-found', '--wait=false']);
});

describe('serving.grpcRoute', () => {
  it('without the GRPCRoute CRD: the model serves, and its condition and an Event say there is no route', async () => {
    await applyObject(manifest('v1', v1));
    await waitCondition(ns, 'mm/pumps-rul', 'Ready', 'True', 'Serving', 120_000);
    const c = await waitCondition(ns, 'mm/pumps-rul', 'GRPCRouteApplied', 'False', 'GRPCRouteCRDMissing');
    expect(c.message).toMatch(/gRPC reaches the stable pods only, through the Service pumps-rul/);
    await eventually('the GRPCRouteCRDMissing Event', async () =>
      (await ok(['get', 'events.events.k8s.io', '-n', ns, '-o', 'jsonpath={.items[*].reason}'])).includes(
        'GRPCRouteCRDMissing',
      ),
    );
    expect(
      (await getJson(ns, 'service/pumps-rul')).metadata.annotations?.['prognos.dev/grpc-route'],
    ).toBeUndefined();
  });

  it('the CRD installed: a GRPCRoute the real CRD accepts, all to the stable Service', async () => {
    await ok([
      'apply',
      '--server-side',
      '-f',
      join(testEnv().binDir, 'gateway.networking.k8s.io_grpcroutes.yaml'),
    ]);
    await waitEstablished(`crd/${CRD}`);
    await routedTo('pumps-rul=100');
    const route = await getJson(ns, ROUTE);
    expect(route.spec).toMatchObject({
      parentRefs: [
        { name: 'edge', sectionName: 'grpc', kind: 'Gateway', group: 'gateway.networking.k8s.io' },
      ],
      hostnames: ['pumps.example.com'],
    });
    expect(route.spec.rules[0].backendRefs[0]).toMatchObject({ kind: 'Service', port: 50051 });
    expect(route.metadata.ownerReferences[0]).toMatchObject({ kind: 'MaintenanceModel', controller: true });
    await waitCondition(ns, 'mm/pumps-rul', 'GRPCRouteApplied', 'True', 'Applied', 30_000);
  });

  it(
    'a canary: the backends follow the applied weight, 20 → 50 → all stable once promoted',
    { timeout: 240_000 },
    async () => {
      await applyObject(manifest('v2', v2));
      const canaryService = await eventually(
        'the canary Service',
        () => getJson(ns, 'service/pumps-rul-canary'),
        60_000,
      );
      expect(canaryService.spec.selector).toEqual({
        'prognos.dev/model': 'pumps-rul',
        'prognos.dev/role': 'canary',
      });
      await eventually(
        'the canary at 20%',
        async () => (await model())?.status?.canary?.weight === 20,
        120_000,
      );
      await routedTo('pumps-rul=80', 'pumps-rul-canary=20');
      expect((await routeCondition())?.status).toBe('True');

      await annotate('prognos.dev/promote');
      await eventually(
        'the canary at 50%',
        async () => (await model())?.status?.canary?.weight === 50,
        30_000,
      );
      await routedTo('pumps-rul=50', 'pumps-rul-canary=50');
      // One promote is one step, even when a reconcile reads the model before the annotation's removal.
      await eventually('the promote annotation cleared', async () =>
        (await model())?.metadata?.annotations?.['prognos.dev/promote'] === undefined ? true : undefined,
      );
      await new Promise((r) => setTimeout(r, 1_000));
      expect((await model()).status.rollout.step).toBe(1);
      expect(await backends()).toEqual(['pumps-rul=50', 'pumps-rul-canary=50']);

      await annotate('prognos.dev/promote');
      await eventually(
        'v2 promoted to stable',
        async () => {
          const mm = await model();
          return mm?.status?.stable?.version === 'v2' && mm.status.rollout === undefined;
        },
        120_000,
      );
      await routedTo('pumps-rul=100');
      await eventually(
        'the canary Service gone',
        async () => (await getJson(ns, 'service/pumps-rul-canary')) === undefined,
      );
    },
  );

  it('an abort sends every call back to the stable at once', { timeout: 180_000 }, async () => {
    await applyObject(manifest('v3', v3));
    await eventually(
      'the canary at 20%',
      async () => (await model())?.status?.canary?.weight === 20,
      120_000,
    );
    await routedTo('pumps-rul=80', 'pumps-rul-canary=20');
    await annotate('prognos.dev/abort');
    await eventually(
      'aborted',
      async () => (await model())?.status?.rolledBack?.reason === 'Aborted',
      30_000,
    );
    // The canary's pods (and Service) are kept a while without traffic; the route has left them already.
    expect(await backends()).toEqual(['pumps-rul=100']);
  });

  it('serving.grpcRoute removed: the route and the condition go', async () => {
    await applyObject(manifest('v3', v3, null));
    await eventually('no GRPCRoute', async () => (await getJson(ns, ROUTE)) === undefined, 30_000);
    await eventually('no GRPCRouteApplied condition', async () => (await routeCondition()) === undefined);
    expect(
      (await getJson(ns, 'service/pumps-rul')).metadata.annotations?.['prognos.dev/grpc-route'],
    ).toBeUndefined();
  });
});
