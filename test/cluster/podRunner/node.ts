import { arch, cpus, hostname, release, totalmem } from 'node:os';
import { KubeApiError, microTime, type KubeClient } from './kubeClient.ts';
import type { NodeAllocatable } from './fieldRefs.ts';
import { sleep } from './listWatch.ts';

export const hostIP = '127.0.0.1';
export const maxPods = 110;

/** Labels the node carries (and that pods' nodeSelectors are matched against). */
export function nodeLabels(nodeName: string): Record<string, string> {
  return {
    'kubernetes.io/hostname': nodeName,
    'kubernetes.io/os': 'linux',
    'kubernetes.io/arch': arch() === 'x64' ? 'amd64' : arch(),
    'prognos.dev/pod-runner': 'true',
  };
}

/** This machine's resources, reported as both capacity and allocatable. */
export function machineResources(): NodeAllocatable {
  return { cpu: cpus().length, memory: totalmem(), 'ephemeral-storage': 100 * 2 ** 30 };
}

/** The node status the pod runner reports: Ready, no pressure, loopback address, machine resources. */
export function nodeStatus(nodeName: string, since: string, now: string): Record<string, unknown> {
  const res = machineResources();
  const resources = {
    cpu: String(res.cpu),
    memory: `${Math.floor(res.memory / 1024)}Ki`,
    'ephemeral-storage': `${res['ephemeral-storage'] / 2 ** 30}Gi`,
    pods: String(maxPods),
  };
  const condition = (type: string, status: string, reason: string, message: string) => ({
    type,
    status,
    reason,
    message,
    lastHeartbeatTime: now,
    lastTransitionTime: since,
  });
  return {
    capacity: resources,
    allocatable: resources,
    conditions: [
      condition(
        'MemoryPressure',
        'False',
        'KubeletHasSufficientMemory',
        'pod runner has sufficient memory available',
      ),
      condition('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'pod runner has no disk pressure'),
      condition('PIDPressure', 'False', 'KubeletHasSufficientPID', 'pod runner has sufficient PID available'),
      condition('Ready', 'True', 'KubeletReady', 'Prognos pod runner is posting ready status'),
    ],
    addresses: [
      { type: 'InternalIP', address: hostIP },
      { type: 'Hostname', address: nodeName },
    ],
    daemonEndpoints: { kubeletEndpoint: { Port: 0 } },
    nodeInfo: {
      machineID: nodeName,
      systemUUID: nodeName,
      bootID: '',
      kernelVersion: release(),
      osImage: `Prognos pod runner on ${hostname()}`,
      containerRuntimeVersion: 'prognos-pod-runner://1',
      kubeletVersion: 'v1.36.3',
      kubeProxyVersion: '',
      operatingSystem: 'linux',
      architecture: nodeLabels(nodeName)['kubernetes.io/arch'],
    },
  };
}

/**
 * Creates (or adopts) the Node and reports it Ready. The TaintNodesByCondition admission plugin
 * taints a new node not-ready; the node lifecycle controller would lift it once Ready, but that
 * controller may not run here, so registration lifts it itself.
 */
export async function registerNode(
  client: KubeClient,
  nodeName: string,
): Promise<{ uid: string; since: string }> {
  type NodeJson = { metadata: { uid: string }; spec?: { taints?: { key: string }[] } };
  let node: NodeJson;
  try {
    node = await client.request<NodeJson>('POST', '/api/v1/nodes', {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: nodeName, labels: nodeLabels(nodeName) },
    });
  } catch (err) {
    if (!(err instanceof KubeApiError && err.status === 409)) throw err;
    node = await client.request<NodeJson>('GET', `/api/v1/nodes/${nodeName}`);
  }
  const taints = (node.spec?.taints ?? []).filter(
    (t) => t.key !== 'node.kubernetes.io/not-ready' && t.key !== 'node.kubernetes.io/unreachable',
  );
  if (taints.length !== (node.spec?.taints ?? []).length) {
    await client.request(
      'PATCH',
      `/api/v1/nodes/${nodeName}`,
      { spec: { taints } },
      'application/merge-patch+json',
    );
  }
  const since = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
  await postNodeStatus(client, nodeName, since);
  return { uid: node.metadata.uid, since };
}

async function postNodeStatus(client: KubeClient, nodeName: string, since: string): Promise<void> {
  const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
  await client.request(
    'PATCH',
    `/api/v1/nodes/${nodeName}/status`,
    { status: nodeStatus(nodeName, since, now) },
    'application/merge-patch+json',
  );
}

const leaseDurationSeconds = 40;
const heartbeatMs = 10_000;

/** Renews the node Lease and the node status every 10 s until `signal` aborts. Never throws. */
export async function runHeartbeat(
  client: KubeClient,
  nodeName: string,
  node: { uid: string; since: string },
  signal: AbortSignal,
  log: (line: string) => void,
): Promise<void> {
  const leasePath = `/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/${nodeName}`;
  while (!signal.aborted) {
    try {
      await renewLease(client, leasePath, nodeName, node.uid);
      await postNodeStatus(client, nodeName, node.since);
    } catch (err) {
      if (signal.aborted) return;
      log(`node heartbeat failed: ${(err as Error).message}`);
      if (err instanceof KubeApiError && err.status === 404 && /nodes/.test(err.message)) {
        // Someone deleted the Node: register it again.
        Object.assign(node, await registerNode(client, nodeName).catch(() => node));
      }
    }
    await sleep(heartbeatMs, signal);
  }
}

async function renewLease(
  client: KubeClient,
  leasePath: string,
  nodeName: string,
  nodeUid: string,
): Promise<void> {
  const spec = { holderIdentity: nodeName, leaseDurationSeconds, renewTime: microTime(new Date()) };
  try {
    await client.request('PATCH', leasePath, { spec }, 'application/merge-patch+json');
  } catch (err) {
    if (!(err instanceof KubeApiError && err.status === 404)) throw err;
    await client.request('POST', '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases', {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: {
        name: nodeName,
        namespace: 'kube-node-lease',
        ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: nodeName, uid: nodeUid }],
      },
      spec,
    });
  }
}
