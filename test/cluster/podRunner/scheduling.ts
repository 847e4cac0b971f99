import type { V1Pod } from '@kubernetes/client-node';

export type SchedulingDecision =
  { kind: 'ignore' } | { kind: 'bind' } | { kind: 'unschedulable'; condition: Record<string, unknown> };

const unschedulableMessage = "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector.";

/**
 * The pod runner is the cluster's only scheduler and it has one node: a pending pod is bound unless
 * it asks for another scheduler or its nodeSelector does not match the node's labels. Taints are not
 * considered: the only node's taints come from conditions the pod runner itself reports.
 */
export function schedulingDecision(
  pod: V1Pod,
  nodeName: string,
  labels: Readonly<Record<string, string>>,
): SchedulingDecision {
  const phase = pod.status?.phase;
  if (pod.spec?.nodeName || pod.metadata?.deletionTimestamp || phase === 'Succeeded' || phase === 'Failed') {
    return { kind: 'ignore' };
  }
  const scheduler = pod.spec?.schedulerName;
  if (scheduler && scheduler !== 'default-scheduler') return { kind: 'ignore' };
  const selector = pod.spec?.nodeSelector ?? {};
  const matches = Object.entries(selector).every(([k, v]) => labels[k] === v);
  if (matches) return { kind: 'bind' };
  const current = pod.status?.conditions?.find((c) => c.type === 'PodScheduled');
  if (current?.status === 'False' && current.reason === 'Unschedulable') return { kind: 'ignore' };
  return {
    kind: 'unschedulable',
    condition: {
      type: 'PodScheduled',
      status: 'False',
      reason: 'Unschedulable',
      message: `${unschedulableMessage} (node ${nodeName})`,
      lastProbeTime: null,
      lastTransitionTime: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    },
  };
}
