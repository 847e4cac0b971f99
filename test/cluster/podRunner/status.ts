import type { V1Pod, V1PodCondition } from '@kubernetes/client-node';

/** What one container is doing, as the pod runner tracks it. Times are ISO strings (API form). */
export type ContainerState =
  | { waiting: { reason: string; message?: string } }
  | { running: { startedAt: string } }
  | { terminated: TerminatedState };

export interface TerminatedState {
  exitCode: number;
  signal?: number;
  reason: string;
  message?: string;
  startedAt?: string;
  finishedAt: string;
  containerID?: string;
}

export interface ContainerSnapshot {
  name: string;
  image: string;
  imageID: string;
  containerID?: string;
  state: ContainerState;
  lastTerminated?: TerminatedState;
  restartCount: number;
  ready: boolean;
  started: boolean;
}

export interface PodSnapshot {
  containers: readonly ContainerSnapshot[];
  restartPolicy: string | undefined;
  podIP: string | undefined;
  hostIP: string;
  startTime: string | undefined;
  /** The pod is finished for good (being deleted): no container will run again. */
  terminal: boolean;
}

/** A JSON-ready pod status: the fields the pod runner owns. */
export interface OwnedPodStatus {
  phase: 'Pending' | 'Running' | 'Succeeded' | 'Failed';
  conditions: ConditionJson[];
  containerStatuses: ContainerStatusJson[];
  hostIP: string;
  hostIPs: { ip: string }[];
  podIP?: string;
  podIPs?: { ip: string }[];
  startTime?: string;
}

export interface ConditionJson {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  lastProbeTime: null;
  lastTransitionTime: string;
  reason?: string;
  message?: string;
}

export interface ContainerStatusJson {
  name: string;
  image: string;
  imageID: string;
  containerID?: string;
  ready: boolean;
  started: boolean;
  restartCount: number;
  state: ContainerState;
  lastState: { terminated?: TerminatedState };
}

/** The condition types this pod runner sets; any other condition on the pod is left as it is. */
export const ownedConditionTypes = [
  'PodReadyToStartContainers',
  'Initialized',
  'ContainersReady',
  'Ready',
  'PodScheduled',
] as const;

/** The kubelet's phase rule (pkg/kubelet/kubelet_pods.go getPhase) for a pod without init containers. */
export function podPhase(
  snap: Pick<PodSnapshot, 'containers' | 'restartPolicy' | 'terminal'>,
): OwnedPodStatus['phase'] {
  let waiting = 0;
  let running = 0;
  let stopped = 0;
  let succeeded = 0;
  for (const c of snap.containers) {
    if ('running' in c.state) running++;
    else if ('terminated' in c.state) {
      stopped++;
      if (c.state.terminated.exitCode === 0) succeeded++;
    } else if (c.lastTerminated) stopped++;
    else waiting++;
  }
  if (snap.containers.length === 0) return 'Pending';
  if (waiting > 0) return snap.terminal ? 'Failed' : 'Pending';
  if (running > 0) return 'Running';
  if (snap.terminal || snap.restartPolicy !== 'Always') {
    if (stopped === succeeded) return 'Succeeded';
    if (snap.terminal || snap.restartPolicy === 'Never') return 'Failed';
  }
  return 'Running';
}

/**
 * The status to report for a pod. Conditions keep their lastTransitionTime while their status does
 * not change, so recomputing an unchanged pod yields an identical object (and no API write).
 */
export function computePodStatus(pod: V1Pod, snap: PodSnapshot, now: string): OwnedPodStatus {
  const phase = podPhase(snap);
  const previous = pod.status?.conditions ?? [];
  const completed = phase === 'Succeeded' || phase === 'Failed';
  const unready = snap.containers.filter((c) => !c.ready).map((c) => c.name);
  const containersReady = !completed && unready.length === 0 && snap.containers.length > 0;
  const gates = (pod.spec?.readinessGates ?? []).map((g) => g.conditionType);
  const gatesFalse = gates.filter((g) => previous.find((c) => c.type === g)?.status !== 'True');
  const notReadyReason = completed ? 'PodCompleted' : 'ContainersNotReady';
  const notReadyMessage = completed ? undefined : `containers with unready status: [${unready.join(' ')}]`;

  const cond = (type: string, ok: boolean, reason?: string, message?: string): ConditionJson =>
    condition(previous, type, ok, ok ? undefined : reason, ok ? undefined : message, now);
  const conditions: ConditionJson[] = [
    cond('PodReadyToStartContainers', snap.podIP !== undefined && !snap.terminal),
    cond('Initialized', true),
    cond('ContainersReady', containersReady, notReadyReason, notReadyMessage),
    containersReady && gatesFalse.length > 0
      ? cond(
          'Ready',
          false,
          'ReadinessGatesNotReady',
          `corresponding condition of pod readiness gate "${gatesFalse[0]}" does not exist or is not True`,
        )
      : cond('Ready', containersReady, notReadyReason, notReadyMessage),
    cond('PodScheduled', true),
    ...previous
      .filter((c) => !(ownedConditionTypes as readonly string[]).includes(c.type))
      .map(foreignCondition),
  ];

  const status: OwnedPodStatus = {
    phase,
    conditions,
    containerStatuses: snap.containers.map((c) => ({
      name: c.name,
      image: c.image,
      imageID: c.imageID,
      ...(c.containerID !== undefined ? { containerID: c.containerID } : {}),
      ready: c.ready,
      started: c.started,
      restartCount: c.restartCount,
      state: c.state,
      lastState: c.lastTerminated ? { terminated: c.lastTerminated } : {},
    })),
    hostIP: snap.hostIP,
    hostIPs: [{ ip: snap.hostIP }],
  };
  if (snap.podIP !== undefined) {
    status.podIP = snap.podIP;
    status.podIPs = [{ ip: snap.podIP }];
  }
  if (snap.startTime !== undefined) status.startTime = snap.startTime;
  return status;
}

function condition(
  previous: readonly V1PodCondition[],
  type: string,
  ok: boolean,
  reason: string | undefined,
  message: string | undefined,
  now: string,
): ConditionJson {
  const status = ok ? 'True' : 'False';
  const prev = previous.find((c) => c.type === type);
  const since =
    prev && prev.status === status && prev.lastTransitionTime ? isoTime(prev.lastTransitionTime) : now;
  return {
    type,
    status,
    lastProbeTime: null,
    lastTransitionTime: since,
    ...(reason !== undefined ? { reason } : {}),
    ...(message !== undefined ? { message } : {}),
  };
}

function foreignCondition(c: V1PodCondition): ConditionJson {
  return {
    type: c.type,
    status: c.status as ConditionJson['status'],
    lastProbeTime: null,
    lastTransitionTime: c.lastTransitionTime ? isoTime(c.lastTransitionTime) : new Date(0).toISOString(),
    ...(c.reason !== undefined ? { reason: c.reason } : {}),
    ...(c.message !== undefined ? { message: c.message } : {}),
  };
}

/** API times are whole seconds (RFC 3339); the object may carry a Date or a string. */
export function isoTime(t: Date | string): string {
  const d = typeof t === 'string' ? new Date(t) : t;
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
