// The operator survives its dependencies restarting: NATS (the pool reconnects; streams are ensured
// again) and the API server (informers relist; changes made afterwards are reconciled).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PrognosOperator } from '../../operator/prognosOperator.ts';
import { restartApiServer, restartNats } from './env.ts';
import {
  applyObject,
  createNamespace,
  deleteNamespace,
  eventually,
  fleetManifest,
  getJson,
  installCrds,
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

beforeAll(async () => {
  await installCrds();
  ns = await createNamespace('op-restart');
  operator = await startOperator(ns);
  await applyObject(fleetManifest(ns, 'pumps'));
  await waitCondition(ns, 'sf/pumps', 'StreamReady', 'True');
});

afterAll(async () => {
  await operator?.stop();
  await deleteNamespace(ns);
});

describe('operator resilience', () => {
  it('keeps managing streams across a NATS restart', async () => {
    await restartNats();
    await applyObject(fleetManifest(ns, 'after-nats'));
    await waitCondition(ns, 'sf/after-nats', 'StreamReady', 'True', 'StreamsEnsured', 60_000);
    const { nc, jsm } = await natsClient();
    try {
      expect(
        (await jsm.streams.info(`PROGNOS_${ns}_AFTER_NATS`.toUpperCase().replace(/-/g, '_'))).config.subjects,
      ).toEqual([`${ns}.after-nats.*.readings`]);
    } finally {
      await nc.close();
    }
  });

  it('reconciles changes made after an API server restart', async () => {
    const dir = tempDir();
    const v1 = writeModel(dir, 'v1.onnx', 21);
    await restartApiServer();
    await applyObject(modelManifest(ns, 'after-api', 'pumps', { version: 'v1', ...v1 }));
    await waitCondition(ns, 'mm/after-api', 'Ready', 'True', 'Serving', 120_000);
    await ok(['delete', '-n', ns, 'configmap/after-api-runtime', '--wait=false']);
    await eventually('the ConfigMap is back', async () => {
      const cm = await getJson(ns, 'configmap/after-api-runtime');
      return cm && !cm.metadata.deletionTimestamp;
    });
  });
});
