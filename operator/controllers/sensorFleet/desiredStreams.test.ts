import { describe, expect, it } from 'vitest';
import { fleetFixture } from '../testdata/fixtures.ts';
import {
  defaultStreamName,
  desiredDeadLetterStream,
  desiredLabelsStream,
  desiredStream,
  partitionTransform,
  storedSubject,
  streamDrift,
} from './desiredStreams.ts';

describe('desiredStream', () => {
  it.each([
    ['default name from namespace and fleet', fleetFixture(), 'PROGNOS_PLANT_A_PUMPS'],
    ['explicit name wins', fleetFixture((f) => (f.spec.stream.name = 'READINGS')), 'READINGS'],
  ])('%s', (_, fleet, name) => {
    expect(desiredStream(fleet).name).toBe(name);
  });

  it('maps retention limits, age in nanoseconds, unlimited bytes and replicas', () => {
    const s = desiredStream(fleetFixture((f) => (f.spec.stream.replicas = 3)));
    expect(s).toMatchObject({
      subjects: ['plant-a.pumps.*.readings'],
      retention: 'limits',
      storage: 'file',
      discard: 'old',
      max_age: 7 * 86_400 * 1e9,
      max_bytes: -1,
      num_replicas: 3,
      metadata: { 'prognos.dev/fleet': 'plant-a/pumps' },
    });
    expect(s.subject_transform).toBeUndefined();
  });

  it('maps maxBytes and Memory storage', () => {
    const s = desiredStream(
      fleetFixture((f) => {
        f.spec.stream.maxBytes = 1_000_000;
        f.spec.stream.storage = 'Memory';
      }),
    );
    expect(s).toMatchObject({ max_bytes: 1_000_000, storage: 'memory' });
  });

  it('partitions by the machine token with a subject transform', () => {
    const fleet = fleetFixture((f) => (f.spec.stream.partitions = 4));
    expect(desiredStream(fleet).subject_transform).toEqual({
      src: 'plant-a.pumps.*.readings',
      dest: 'plant-a.pumps.{{wildcard(1)}}.readings.{{partition(4,1)}}',
    });
    expect(storedSubject(fleet)).toBe('plant-a.pumps.*.readings.*');
  });
});

describe('partitionTransform', () => {
  it.each([
    ['a.*.*.r', 3, 2, 'a.{{wildcard(1)}}.{{wildcard(2)}}.r.{{partition(2,2)}}'],
    ['*.b', 1, 8, '{{wildcard(1)}}.b.{{partition(8,1)}}'],
  ])('%s token %d into %d', (subject, token, n, dest) => {
    expect(partitionTransform(subject, token, n).dest).toBe(dest);
  });
  it.each([
    ['a.>', 2, /trailing '>'/],
    ['a.b.*', 2, /not a '\*' token/],
  ])('refuses %s token %d', (subject, token, error) => {
    expect(() => partitionTransform(subject, token, 2)).toThrow(error);
  });
});

describe('dead-letter and labels streams', () => {
  it('dead letters on prognos.deadletter.<ns>.<fleet>', () => {
    expect(desiredDeadLetterStream(fleetFixture())).toMatchObject({
      name: 'PROGNOS_PLANT_A_PUMPS_DLQ',
      subjects: ['prognos.deadletter.plant-a.pumps'],
    });
  });
  it.each([
    ['canonical subject only', fleetFixture(), ['prognos.labels.plant-a.pumps.*']],
    [
      'fleet events subject too',
      fleetFixture((f) => (f.spec.labels = { subject: 'plant-a.pumps.*.events' })),
      ['plant-a.pumps.*.events', 'prognos.labels.plant-a.pumps.*'],
    ],
  ])('labels: %s', (_, fleet, subjects) => {
    expect(desiredLabelsStream(fleet)).toMatchObject({ name: 'PROGNOS_PLANT_A_PUMPS_LABELS', subjects });
  });
});

describe('defaultStreamName', () => {
  it.each([
    ['ns', 'a.b', 'PROGNOS_NS_A_B'],
    ['my-ns', 'fleet-1', 'PROGNOS_MY_NS_FLEET_1'],
  ])('%s/%s → %s', (ns, name, want) => expect(defaultStreamName(ns, name)).toBe(want));
});

describe('streamDrift', () => {
  const desired = desiredStream(fleetFixture());
  it.each([
    [
      'identical (server metadata ignored)',
      { ...desired, metadata: { ...desired.metadata, _nats_level: '1' } },
      [],
    ],
    ['age changed', { ...desired, max_age: 1 }, ['max_age']],
    ['subjects changed', { ...desired, subjects: ['x'] }, ['subjects']],
    [
      'transform added on the server',
      { ...desired, subject_transform: { src: 'a', dest: 'b' } },
      ['subject_transform'],
    ],
    ['replicas and bytes', { ...desired, num_replicas: 3, max_bytes: 5 }, ['max_bytes', 'num_replicas']],
  ])('%s', (_, current, fields) => {
    expect(streamDrift(desired, current)).toEqual(fields);
  });
});
