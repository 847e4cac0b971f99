import { describe, expect, it } from 'vitest';
import {
  servesServiceMonitors,
  serviceMonitorsServedChanged,
  SERVICE_MONITOR_CRD,
} from './serviceMonitor.ts';

const crd = (established: string | undefined, versions = [{ name: 'v1', served: true }]) => ({
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: SERVICE_MONITOR_CRD },
  spec: { versions },
  status: established ? { conditions: [{ type: 'Established', status: established }] } : {},
});

describe('servesServiceMonitors', () => {
  it('needs the CRD Established and serving v1', () => {
    expect(servesServiceMonitors(undefined)).toBe(false);
    expect(servesServiceMonitors(crd(undefined))).toBe(false);
    expect(servesServiceMonitors(crd('False'))).toBe(false);
    expect(servesServiceMonitors(crd('True'))).toBe(true);
    expect(servesServiceMonitors(crd('True', [{ name: 'v1', served: false }]))).toBe(false);
    expect(servesServiceMonitors(crd('True', [{ name: 'v1alpha1', served: true }]))).toBe(false);
    const deleting = crd('True');
    expect(
      servesServiceMonitors({
        ...deleting,
        metadata: { ...deleting.metadata, deletionTimestamp: new Date() },
      }),
    ).toBe(false);
  });

  it('wakes the models only when that answer changes', () => {
    expect(serviceMonitorsServedChanged({ type: 'add', obj: crd(undefined) })).toBe(true);
    expect(serviceMonitorsServedChanged({ type: 'update', old: crd(undefined), obj: crd('True') })).toBe(
      true,
    );
    expect(serviceMonitorsServedChanged({ type: 'update', old: crd('True'), obj: crd('True') })).toBe(false);
    expect(serviceMonitorsServedChanged({ type: 'delete', obj: crd('True') })).toBe(true);
  });
});
