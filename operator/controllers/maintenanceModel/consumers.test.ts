import { describe, expect, it } from 'vitest';
import { fleetFixture, modelFixture } from '../testdata/fixtures.ts';
import { consumerDrift, desiredConsumers } from './consumers.ts';

describe('desiredConsumers', () => {
  it('one pinned consumer on an unpartitioned stream, under the name models always had', () => {
    const [c, ...rest] = desiredConsumers(modelFixture(), fleetFixture(), 1024);
    expect(rest).toEqual([]);
    expect(c).toMatchObject({
      name: 'prognos-pump-failure-stable',
      config: {
        filter_subject: 'plant-a.pumps.*.readings',
        ack_policy: 'explicit',
        deliver_policy: 'new',
        max_ack_pending: 4096,
        priority_groups: ['owner'],
        priority_policy: 'pinned_client',
        priority_timeout: 5_000_000_000,
        metadata: { 'prognos.dev/model': 'plant-a/pump-failure', 'prognos.dev/role': 'stable' },
      },
    });
  });

  it('one per partition, each filtered on its partition subject', () => {
    const fleet = fleetFixture((f) => (f.spec.stream.partitions = 16));
    const consumers = desiredConsumers(modelFixture(), fleet, 256);
    expect(consumers.map((c) => c.name)).toEqual(
      Array.from({ length: 16 }, (_, p) => `prognos-pump-failure-stable-p${p}`),
    );
    expect(consumers[5]!.config.filter_subject).toBe('plant-a.pumps.*.readings.5');
  });

  it.each([
    ['New', { deliver_policy: 'new' }],
    ['All', { deliver_policy: 'all' }],
    [
      '2026-12-01T06:00:00+01:00',
      { deliver_policy: 'by_start_time', opt_start_time: '2026-12-01T05:00:00.000Z' },
    ],
  ])('startFrom %s', (startFrom, expected) => {
    const model = modelFixture((m) => (m.spec.serving.startFrom = startFrom));
    expect(desiredConsumers(model, fleetFixture(), 1)[0]!.config).toMatchObject(expected);
  });

  it('drift covers what an update may change, not the start position', () => {
    const [want] = desiredConsumers(modelFixture(), fleetFixture(), 1024);
    const live = { ...want!.config, deliver_policy: 'all' as const };
    expect(consumerDrift(want!.config, live)).toEqual([]);
    expect(consumerDrift(want!.config, { ...live, ack_wait: 1 })).toEqual(['ack_wait']);
  });
});
