// The operator owns the consumers: a model on a fleet partitioned 4 ways gets one pinned_client
// consumer per partition before its pods start, starting at new readings unless serving.startFrom
// says otherwise; deleting the model leaves nothing of it in JetStream.
import type { JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PrognosOperator } from '../../operator/prognosOperator.ts';
import { defaultStreamName } from '../../operator/controllers/sensorFleet/desiredStreams.ts';
import { kubectl } from './env.ts';
import {
  applyObject,
  createNamespace,
  deleteNamespace,
  eventually,
  fleetManifest,
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

let ns: string;
let operator: PrognosOperator;
let nc: NatsConnection;
let jsm: JetStreamManager;
let model: ModelFile;
let stream: string;

const consumersOf = async (name: string) =>
  (await jsm.consumers.list(stream).next()).filter(
    (c) => c.config.metadata?.['prognos.dev/model'] === `${ns}/${name}`,
  );

beforeAll(async () => {
  await installCrds();
  ns = await createNamespace('op-consumers');
  ({ nc, jsm } = await natsClient());
  model = writeModel(tempDir(), 'v1.onnx', 3);
  operator = await startOperator(ns);
  await applyObject(fleetManifest(ns, 'pumps', { stream: { maxAge: '1h', partitions: 4 } }));
  await waitCondition(ns, 'sf/pumps', 'StreamReady', 'True', undefined, 30_000);
  stream = defaultStreamName(ns, 'pumps');
});

afterAll(async () => {
  await operator?.stop();
  await nc?.close();
  if (ns) await deleteNamespace(ns);
});

describe('consumers owned by the operator', () => {
  it('creates one pinned consumer per partition, from new readings by default', async () => {
    await applyObject(modelManifest(ns, 'pump-failure', 'pumps', { version: 'v1', ...model }));
    const consumers = await eventually('4 consumers', async () => {
      const list = await consumersOf('pump-failure');
      return list.length === 4 ? list : undefined;
    });
    expect(consumers.map((c) => c.name).sort()).toEqual(
      [0, 1, 2, 3].map((p) => `prognos-pump-failure-stable-p${p}`),
    );
    for (const c of consumers) {
      expect(c.config).toMatchObject({
        deliver_policy: 'new',
        ack_policy: 'explicit',
        priority_groups: ['owner'],
        priority_policy: 'pinned_client',
      });
      expect(c.config.filter_subject).toMatch(new RegExp(`^${ns}\\.pumps\\.\\*\\.readings\\.[0-3]$`));
    }
  });

  it('starts where serving.startFrom says', async () => {
    const m = modelManifest(ns, 'since-monday', 'pumps', { version: 'v1', ...model });
    (m.spec as { serving: Record<string, unknown> }).serving.startFrom = '2026-11-30T00:00:00Z';
    await applyObject(m);
    const [c] = await eventually('the since-monday consumers', async () => {
      const list = await consumersOf('since-monday');
      return list.length === 4 ? list : undefined;
    });
    expect(c!.config).toMatchObject({
      deliver_policy: 'by_start_time',
      opt_start_time: '2026-11-30T00:00:00Z',
    });
  });

  it('refuses a startFrom that is neither New, All nor a time, with the field path', async () => {
    const m = modelManifest(ns, 'bad-start', 'pumps', { version: 'v1', ...model });
    (m.spec as { serving: Record<string, unknown> }).serving.startFrom = 'yesterday';
    const r = await kubectl(['apply', '--dry-run=server', '--server-side', '-f', '-'], {
      input: JSON.stringify(m),
    });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('spec.serving.startFrom');
  });

  it('deleting the model deletes its consumers', async () => {
    await ok(['delete', 'mm/pump-failure', '-n', ns, '--wait=true', '--timeout=60s']);
    await eventually(
      'no pump-failure consumers',
      async () => (await consumersOf('pump-failure')).length === 0,
    );
    expect((await jsm.consumers.list(stream).next()).map((c) => c.name)).not.toContain(
      'prognos-pump-failure-stable-p0',
    );
  });
});
