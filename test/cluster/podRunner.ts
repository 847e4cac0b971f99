import type { V1Pod } from '@kubernetes/client-node';
import { randomInt } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { repoRoot } from './binaries.ts';
import { podEvent, recordEvent } from './podRunner/events.ts';
import { KubeApiError, KubeClient } from './podRunner/kubeClient.ts';
import { runListWatch, sleep } from './podRunner/listWatch.ts';
import { hostIP, machineResources, nodeLabels, registerNode, runHeartbeat } from './podRunner/node.ts';
import { reapOrphans } from './podRunner/orphans.ts';
import { boundAddresses } from './podRunner/loopbackSockets.ts';
import { PodIpAllocator } from './podRunner/podIps.ts';
import { PodWorker, type RunnerContext } from './podRunner/podWorker.ts';
import { schedulingDecision } from './podRunner/scheduling.ts';

export interface PodRunnerOptions {
  kubeconfig: string;
  /** Pod volumes, logs (`pods/<ns>_<name>/<container>.log`) and pid files live here. */
  stateDir: string;
  nodeName?: string;
  log?: (line: string) => void;
}

export interface PodRunner {
  /** Kills every container process (none is left behind) and stops watching. */
  stop(): Promise<void>;
}

/**
 * Plays kubelet (and scheduler) for Prognos's own images: registers a Node, binds pending pods to it,
 * and runs their containers as local processes (see docs in podRunner/ and images.ts).
 * Runs in-process in the test supervisor, so after start-up nothing in here throws.
 */
export async function startPodRunner(opts: PodRunnerOptions): Promise<PodRunner> {
  const nodeName = opts.nodeName ?? 'prognos-local';
  const log = opts.log ?? (() => undefined);
  mkdirSync(opts.stateDir, { recursive: true });
  reapOrphans(opts.stateDir, repoRoot, log);
  const client = await KubeClient.fromKubeconfig(opts.kubeconfig);
  const node = await retry(() => registerNode(client, nodeName), 30_000);
  const ctx: RunnerContext = {
    client,
    nodeName,
    hostIP,
    stateDir: opts.stateDir,
    repoRoot,
    ips: new PodIpAllocator(randomInt(PodIpAllocator.capacity), boundAddresses),
    allocatable: machineResources(),
    apiServer: client.server,
    log,
  };
  const workers = new Map<string, PodWorker>();
  const binding = new Set<string>();
  const stopping = new AbortController();
  const labels = nodeLabels(nodeName);

  const bind = async (pod: V1Pod): Promise<void> => {
    const md = pod.metadata!;
    const decision = schedulingDecision(pod, nodeName, labels);
    if (decision.kind === 'ignore') return;
    if (binding.has(md.uid!)) return;
    binding.add(md.uid!);
    try {
      if (decision.kind === 'unschedulable') {
        await client.request(
          'PATCH',
          `/api/v1/namespaces/${md.namespace}/pods/${md.name}/status`,
          { status: { conditions: [decision.condition] } },
          'application/strategic-merge-patch+json',
        );
        const message = String(decision.condition['message']);
        recordEvent(
          client,
          podEvent(
            pod,
            'default-scheduler',
            nodeName,
            'Warning',
            'FailedScheduling',
            message,
            undefined,
            new Date(),
          ),
          log,
        );
        return;
      }
      await client.request('POST', `/api/v1/namespaces/${md.namespace}/pods/${md.name}/binding`, {
        apiVersion: 'v1',
        kind: 'Binding',
        metadata: { name: md.name, namespace: md.namespace, uid: md.uid },
        target: { apiVersion: 'v1', kind: 'Node', name: nodeName },
      });
      const message = `Successfully assigned ${md.namespace}/${md.name} to ${nodeName}`;
      recordEvent(
        client,
        podEvent(pod, 'default-scheduler', nodeName, 'Normal', 'Scheduled', message, undefined, new Date()),
        log,
      );
    } catch (err) {
      if (!(err instanceof KubeApiError && (err.status === 404 || err.status === 409))) {
        log(`binding pod ${md.namespace}/${md.name} (retrying in 1 s): ${(err as Error).message}`);
        binding.delete(md.uid!);
        await sleep(1000, stopping.signal);
        if (!stopping.signal.aborted) await bind(pod);
      }
    } finally {
      binding.delete(md.uid!);
    }
  };

  const forget = (uid: string): void => {
    const w = workers.get(uid);
    if (!w) return;
    workers.delete(uid);
    void w.kill(0).then(() => w.cleanup());
  };

  const handle = (pod: V1Pod): void => {
    // Events still buffered when stop() began must not start processes that nobody would kill.
    if (stopping.signal.aborted) return;
    const md = pod.metadata!;
    if (!pod.spec?.nodeName) {
      void bind(pod);
      return;
    }
    if (pod.spec.nodeName !== nodeName) return;
    let w = workers.get(md.uid!);
    if (!w) {
      const phase = pod.status?.phase;
      if (md.deletionTimestamp && (phase === 'Succeeded' || phase === 'Failed' || !pod.status?.startTime)) {
        // Nothing runs for it here (finished, or never started): just complete the deletion.
        void client
          .request('DELETE', `/api/v1/namespaces/${md.namespace}/pods/${md.name}`, {
            gracePeriodSeconds: 0,
            preconditions: { uid: md.uid },
          })
          .catch(() => undefined);
        return;
      }
      if (phase === 'Succeeded' || phase === 'Failed') return;
      w = new PodWorker(ctx, pod);
      workers.set(md.uid!, w);
      log(`pod ${md.namespace}/${md.name} starts on ${w.podIP}`);
      w.start();
    }
    w.update(pod);
  };

  const podsLoop = runListWatch<V1Pod>(
    client,
    '/api/v1/pods',
    {
      onList(items) {
        const seen = new Set(items.map((p) => p.metadata!.uid!));
        for (const uid of workers.keys()) if (!seen.has(uid)) forget(uid);
        for (const p of items) handle(p);
      },
      onEvent(type, pod) {
        if (type === 'DELETED') forget(pod.metadata!.uid!);
        else handle(pod);
      },
    },
    stopping.signal,
    log,
  );
  const heartbeat = runHeartbeat(client, nodeName, node, stopping.signal, log);

  return {
    async stop() {
      stopping.abort();
      await Promise.all([...workers.values()].map((w) => w.kill(2000)));
      workers.clear();
      await Promise.all([podsLoop, heartbeat]);
      client.close();
    },
  };
}

async function retry<T>(fn: () => Promise<T>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await sleep(500);
    }
  }
}
