import type { KubernetesObject } from '@kubernetes/client-node';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { EventRecorder } from './events.ts';
import { ApiError, type ObjectRef } from './kubeClient.ts';

const obj: KubernetesObject = {
  apiVersion: 'prognos.dev/v1alpha1',
  kind: 'MaintenanceModel',
  metadata: { name: 'pump', namespace: 'plant', uid: 'u1', resourceVersion: '7' },
};

function fakeClient() {
  const calls: { verb: string; name: string; body: Record<string, unknown> }[] = [];
  const existing = new Set<string>();
  return {
    calls,
    existing,
    create: async <T extends KubernetesObject>(o: T): Promise<T> => {
      calls.push({ verb: 'create', name: o.metadata!.name!, body: o as Record<string, unknown> });
      existing.add(o.metadata!.name!);
      return o;
    },
    patch: async <T extends KubernetesObject>(ref: ObjectRef, body: unknown): Promise<T> => {
      calls.push({ verb: 'patch', name: ref.name, body: body as Record<string, unknown> });
      if (!existing.has(ref.name)) throw new ApiError(404, 'NotFound', 'gone');
      return {} as T;
    },
  };
}

describe('EventRecorder', () => {
  let t = Date.parse('2025-01-01T00:00:00Z');
  const now = () => new Date(t);
  const log = pino({ level: 'silent' });

  it('creates an events.k8s.io/v1 Event about the object', async () => {
    const c = fakeClient();
    const r = new EventRecorder(c, { controller: 'prognos.dev/operator', instance: 'pod-1', log, now });
    await r.emit(obj, { type: 'Warning', reason: 'ArtifactMismatch', message: 'sha256 differs' });
    expect(c.calls).toHaveLength(1);
    expect(c.calls[0]!.body).toMatchObject({
      apiVersion: 'events.k8s.io/v1',
      metadata: { namespace: 'plant' },
      eventTime: '2025-01-01T00:00:00.000000Z',
      reportingController: 'prognos.dev/operator',
      reportingInstance: 'pod-1',
      action: 'ArtifactMismatch',
      reason: 'ArtifactMismatch',
      note: 'sha256 differs',
      type: 'Warning',
      regarding: { kind: 'MaintenanceModel', name: 'pump', namespace: 'plant', uid: 'u1' },
    });
  });

  it('aggregates repeats of the same event into a series count', async () => {
    const c = fakeClient();
    const r = new EventRecorder(c, { controller: 'c', instance: 'i', log, now });
    const e = { type: 'Warning', reason: 'FleetNotFound', message: 'no fleet "a"' } as const;
    await Promise.all([r.emit(obj, e), r.emit(obj, e), r.emit(obj, e)]);
    await r.emit(obj, { ...e, message: 'no fleet "b"' });
    expect(c.calls.map((x) => x.verb)).toEqual(['create', 'patch', 'patch', 'create']);
    expect(c.calls[2]!.body).toEqual({
      series: { count: 3, lastObservedTime: '2025-01-01T00:00:00.000000Z' },
    });
    expect(c.calls[2]!.name).toBe(c.calls[0]!.name);
  });

  it('starts a new Event after the series window or when the Event expired', async () => {
    const c = fakeClient();
    const r = new EventRecorder(c, { controller: 'c', instance: 'i', log, now, seriesWindowMs: 60_000 });
    const e = { type: 'Normal', reason: 'Applied', message: 'ok' } as const;
    await r.emit(obj, e);
    t += 61_000;
    await r.emit(obj, e);
    c.existing.clear();
    await r.emit(obj, e);
    expect(c.calls.map((x) => x.verb)).toEqual(['create', 'create', 'patch', 'create']);
  });

  it('never throws when the API refuses', async () => {
    const r = new EventRecorder(
      { create: () => Promise.reject(new Error('forbidden')), patch: () => Promise.reject(new Error('x')) },
      { controller: 'c', instance: 'i', log },
    );
    await expect(r.emit(obj, { type: 'Normal', reason: 'R', message: 'm' })).resolves.toBeUndefined();
  });
});
