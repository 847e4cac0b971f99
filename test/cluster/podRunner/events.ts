import type { V1Pod } from '@kubernetes/client-node';
import type { KubeClient } from './kubeClient.ts';

export type EventType = 'Normal' | 'Warning';

/** A core/v1 Event about a pod (or one of its containers), as the kubelet and scheduler record them. */
export function podEvent(
  pod: V1Pod,
  component: 'kubelet' | 'default-scheduler',
  nodeName: string,
  type: EventType,
  reason: string,
  message: string,
  container: string | undefined,
  now: Date,
): Record<string, unknown> {
  const md = pod.metadata!;
  const time = now.toISOString().replace(/\.\d{3}Z$/, 'Z');
  return {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { generateName: `${md.name}.`, namespace: md.namespace },
    involvedObject: {
      apiVersion: 'v1',
      kind: 'Pod',
      name: md.name,
      namespace: md.namespace,
      uid: md.uid,
      ...(container !== undefined ? { fieldPath: `spec.containers{${container}}` } : {}),
    },
    type,
    reason,
    message,
    source: { component, host: nodeName },
    reportingComponent: component,
    reportingInstance: nodeName,
    firstTimestamp: time,
    lastTimestamp: time,
    count: 1,
  };
}

/** Records an event; best effort, like the kubelet's recorder (a lost event is not an error). */
export function recordEvent(
  client: KubeClient,
  event: Record<string, unknown>,
  log: (line: string) => void,
): void {
  const ns = (event['metadata'] as { namespace: string }).namespace;
  client.request('POST', `/api/v1/namespaces/${ns}/events`, event).catch((err: Error) => {
    log(`recording event ${String(event['reason'])}: ${err.message}`);
  });
}
