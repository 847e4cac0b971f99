import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectl, restartApiServer, testEnv } from './env.ts';

/** Polls `check` until it returns a value other than undefined; fails with `what` on timeout. */
async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) {
      // What the pods looked like is what explains a timeout.
      const pods = await kubectl(['get', 'pods', '-n', ns, '-o', 'yaml']);
      throw new Error(`timed out waiting for ${what}; pods in ${ns}:\n${pods.stdout}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function ok(args: string[], input?: string): Promise<string> {
  const r = await kubectl(args, input === undefined ? {} : { input });
  expect(r.code, `kubectl ${args.join(' ')}: ${r.stderr}`).toBe(0);
  return r.stdout;
}

// Test objects are plain JSON, read back through kubectl.
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- kubectl's JSON is untyped
type Json = any;

const ns = `pod-runner-${Date.now().toString(36)}`;
const apply = (obj: object): Promise<string> => ok(['apply', '-n', ns, '-f', '-'], JSON.stringify(obj));
const get = async (args: string[]): Promise<Json> =>
  JSON.parse(await ok(['get', '-n', ns, ...args, '-o', 'json']));
const podsOf = async (selector: string): Promise<Json[]> => (await get(['pods', '-l', selector])).items;
const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const http = async (url: string): Promise<Json> =>
  (await fetch(url, { signal: AbortSignal.timeout(5000) })).json();

const testbox = 'prognos.dev/testbox:1';

beforeAll(async () => {
  await ok(['create', 'namespace', ns]);
  // The service account controller creates `default` shortly after the namespace; pods need it.
  await eventually('default service account', async () =>
    (await kubectl(['get', 'serviceaccount', 'default', '-n', ns])).code === 0 ? true : undefined,
  );
});

afterAll(async () => {
  await kubectl(['delete', 'namespace', ns, '--wait=false']);
});

describe('pod runner', () => {
  it('registers a Ready node and keeps its lease renewed', async () => {
    const node = JSON.parse(await ok(['get', 'node', 'prognos-local', '-o', 'json']));
    const ready = node.status.conditions.find((c: Json) => c.type === 'Ready');
    expect(ready).toMatchObject({ status: 'True', reason: 'KubeletReady' });
    expect(node.status.addresses).toContainEqual({ type: 'InternalIP', address: '127.0.0.1' });
    expect(Number(node.status.allocatable.pods)).toBeGreaterThan(0);
    expect(node.spec.taints ?? []).toEqual([]);
    const lease = JSON.parse(
      await ok(['get', 'lease', 'prognos-local', '-n', 'kube-node-lease', '-o', 'json']),
    );
    expect(lease.spec.holderIdentity).toBe('prognos-local');
    expect(Date.now() - Date.parse(lease.spec.renewTime)).toBeLessThan(30_000);
  });

  it('runs a Deployment of the testbox image: pods get their own IP, answer HTTP, reach Ready, and stop on delete', async () => {
    await apply({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web' },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: 'web' } },
        template: {
          metadata: { labels: { app: 'web' } },
          spec: {
            terminationGracePeriodSeconds: 5,
            containers: [
              {
                name: 'web',
                image: testbox,
                command: ['serve'],
                args: ['--port', '$(PORT)', '--ready-after-ms', '300'],
                ports: [{ name: 'http', containerPort: 8080 }],
                env: [
                  { name: 'PORT', value: '8080' },
                  { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
                  { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
                  { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
                ],
                readinessProbe: { httpGet: { path: '/readyz', port: 'http' }, periodSeconds: 1 },
                startupProbe: { tcpSocket: { port: 'http' }, periodSeconds: 1, failureThreshold: 30 },
                livenessProbe: { httpGet: { path: '/healthz', port: 8080 }, periodSeconds: 2 },
              },
            ],
          },
        },
      },
    });
    await eventually('deployment web available', async () => {
      const d = await get(['deployment', 'web']);
      return d.status?.readyReplicas === 2 ? d : undefined;
    });
    const pods = await podsOf('app=web');
    expect(pods).toHaveLength(2);
    const ips = new Set<string>();
    const pids: number[] = [];
    for (const pod of pods) {
      const ip: string = pod.status.podIP;
      expect(ip).toMatch(/^127\.0\.(\d+)\.(\d+)$/);
      expect(ip).not.toBe('127.0.0.1');
      ips.add(ip);
      expect(pod.spec.nodeName).toBe('prognos-local');
      expect(pod.status.phase).toBe('Running');
      expect(pod.status.hostIP).toBe('127.0.0.1');
      const types = Object.fromEntries(pod.status.conditions.map((c: Json) => [c.type, c.status]));
      expect(types).toMatchObject({
        PodScheduled: 'True',
        Initialized: 'True',
        ContainersReady: 'True',
        Ready: 'True',
      });
      const cs = pod.status.containerStatuses[0];
      expect(cs).toMatchObject({ name: 'web', ready: true, started: true, restartCount: 0, image: testbox });
      expect(cs.state.running.startedAt).toBeTruthy();
      expect(cs.containerID).toMatch(/^prognos:\/\//);
      expect(cs.imageID).toMatch(/sha256:/);

      const env = await http(`http://${ip}:8080/env`);
      expect(env).toMatchObject({ POD_IP: ip, POD_NAME: pod.metadata.name, POD_NAMESPACE: ns, PORT: '8080' });
      const { pid } = await http(`http://${ip}:8080/pid`);
      expect(alive(pid)).toBe(true);
      pids.push(pid);
    }
    expect(ips.size).toBe(2);

    await ok(['delete', '-n', ns, 'deployment', 'web', '--wait=false']);
    await eventually('pods of web gone', async () =>
      (await podsOf('app=web')).length === 0 ? true : undefined,
    );
    await eventually(
      'processes of web stopped',
      async () => (pids.every((p) => !alive(p)) ? true : undefined),
      15_000,
    );
  });

  it('runs a Job to completion', async () => {
    await apply({
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'once' },
      spec: {
        backoffLimit: 0,
        template: {
          spec: {
            restartPolicy: 'Never',
            containers: [
              { name: 'run', image: testbox, args: ['run', '--exit-code', '0', '--after-ms', '300'] },
            ],
          },
        },
      },
    });
    const job = await eventually('job once complete', async () => {
      const j = await get(['job', 'once']);
      return j.status?.conditions?.some((c: Json) => c.type === 'Complete' && c.status === 'True')
        ? j
        : undefined;
    });
    expect(job.status.succeeded).toBe(1);
    const [pod] = await podsOf('job-name=once');
    expect(pod.status.phase).toBe('Succeeded');
    expect(pod.status.containerStatuses[0].state.terminated).toMatchObject({
      exitCode: 0,
      reason: 'Completed',
    });
  });

  it("fails a Job whose container fails, with each container's termination message in its status", async () => {
    await apply({
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'says-why' },
      spec: {
        backoffLimit: 0,
        template: {
          spec: {
            restartPolicy: 'Never',
            containers: [
              {
                name: 'writes',
                image: testbox,
                args: ['run', '--exit-code', '3', '--termination-message', '{"reason":"no data"}'],
              },
              {
                name: 'logs',
                image: testbox,
                args: ['run', '--exit-code', '4'],
                terminationMessagePolicy: 'FallbackToLogsOnError',
              },
              { name: 'quiet', image: testbox, args: ['run', '--exit-code', '0'] },
            ],
          },
        },
      },
    });
    const job = await eventually('job says-why failed', async () => {
      const j = await get(['job', 'says-why']);
      return j.status?.conditions?.some((c: Json) => c.type === 'Failed' && c.status === 'True')
        ? j
        : undefined;
    });
    expect(job.status.failed).toBe(1);
    const [pod] = await podsOf('job-name=says-why');
    expect(pod.status.phase).toBe('Failed');
    const terminated = Object.fromEntries(
      pod.status.containerStatuses.map((c: Json) => [c.name, c.state.terminated]),
    );
    expect(terminated.writes).toMatchObject({
      exitCode: 3,
      reason: 'Error',
      message: '{"reason":"no data"}',
    });
    expect(terminated.logs).toMatchObject({ exitCode: 4, reason: 'Error' });
    expect(terminated.logs.message).toMatch(/exiting with 4$/);
    expect(terminated.quiet).toMatchObject({ exitCode: 0, reason: 'Completed' });
    expect(terminated.quiet.message).toBeUndefined();
  });

  it('runs the Prognos image (the real operator entry point) and keeps its output in the pod log', async () => {
    await apply({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'operator-help' },
      spec: {
        restartPolicy: 'Never',
        containers: [
          {
            name: 'operator',
            image: 'ghcr.io/prognos/prognos:dev',
            command: ['prognos-operator'],
            args: ['--help'],
          },
        ],
      },
    });
    const pod = await eventually('operator-help Succeeded', async () => {
      const p = await get(['pod', 'operator-help']);
      return p.status?.phase === 'Succeeded' ? p : undefined;
    });
    expect(pod.status.containerStatuses[0].imageID).toMatch(/^ghcr\.io\/prognos\/prognos@sha256:/);
    const { readFileSync } = await import('node:fs');
    const log = readFileSync(`${testEnv().stateDir}/pods/${ns}_operator-help/operator.log`, 'utf8');
    expect(log).toContain('prognos-operator [flags]');
  });

  it('reports a failed run as Failed with its exit code', async () => {
    await apply({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'fails' },
      spec: {
        restartPolicy: 'Never',
        containers: [{ name: 'run', image: testbox, args: ['run', '--exit-code', '3'] }],
      },
    });
    const pod = await eventually('pod fails Failed', async () => {
      const p = await get(['pod', 'fails']);
      return p.status?.phase === 'Failed' ? p : undefined;
    });
    expect(pod.status.containerStatuses[0].state.terminated).toMatchObject({ exitCode: 3, reason: 'Error' });
  });

  it('leaves a pod with an image it cannot run Pending with a clear message', async () => {
    await apply({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'nginx' },
      spec: { containers: [{ name: 'nginx', image: 'nginx:1.27' }] },
    });
    const pod = await eventually('nginx waiting with ErrImagePull', async () => {
      const p = await get(['pod', 'nginx']);
      return p.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'ErrImagePull' ? p : undefined;
    });
    expect(pod.status.containerStatuses[0].state.waiting.message).toMatch(/nginx:1\.27.*cannot be run/);
    await new Promise((r) => setTimeout(r, 1500));
    const later = await get(['pod', 'nginx']);
    expect(later.status.phase).toBe('Pending');
    expect(later.status.containerStatuses[0].ready).toBe(false);
  });

  it('restarts a container whose liveness probe fails', async () => {
    await apply({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'unhealthy' },
      spec: {
        terminationGracePeriodSeconds: 1,
        containers: [
          {
            name: 'web',
            image: testbox,
            args: ['serve', '--port', '8080'],
            env: [{ name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } }],
            livenessProbe: {
              httpGet: { path: '/no-such-path', port: 8080 },
              periodSeconds: 1,
              failureThreshold: 2,
            },
          },
        ],
      },
    });
    const pod = await eventually(
      'unhealthy restarted',
      async () => {
        const p = await get(['pod', 'unhealthy']);
        return p.status?.containerStatuses?.[0]?.restartCount >= 1 ? p : undefined;
      },
      30_000,
    );
    expect(pod.status.containerStatuses[0].lastState.terminated.message).toBe('Liveness probe failed');
    const events = await eventually('Killing event for unhealthy', async () => {
      const list = await get(['events', '--field-selector', 'involvedObject.name=unhealthy']);
      const reasons = list.items.map((e: Json) => e.reason);
      return ['Scheduled', 'Started', 'Unhealthy', 'Killing'].every((r) => reasons.includes(r))
        ? reasons
        : undefined;
    });
    expect(events).toContain('Killing');
  });

  it('materialises configMap, downwardAPI, emptyDir and service account volumes, rewrites paths under their mountPaths, and follows ConfigMap updates', async () => {
    await apply({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'greeting' },
      data: { text: 'hello' },
    });
    await apply({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'volumes', labels: { tier: 'test' } },
      spec: {
        containers: [
          {
            name: 'web',
            image: testbox,
            args: ['serve', '--port', '8080'],
            env: [
              { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
              { name: 'GREETING_FILE', value: '/etc/greeting/text' },
              { name: 'LABELS_FILE', value: '/etc/podinfo/labels' },
              { name: 'SCRATCH', value: '/scratch' },
              // The ServiceAccount admission plugin mounts kube-api-access here.
              { name: 'SA_DIR', value: '/var/run/secrets/kubernetes.io/serviceaccount' },
            ],
            // Runs locally with the path rewritten, so it only succeeds if the volume is in place.
            readinessProbe: { exec: { command: ['test', '-f', '/etc/greeting/text'] }, periodSeconds: 1 },
            volumeMounts: [
              { name: 'greeting', mountPath: '/etc/greeting' },
              { name: 'podinfo', mountPath: '/etc/podinfo' },
              { name: 'scratch', mountPath: '/scratch' },
            ],
          },
        ],
        volumes: [
          { name: 'greeting', configMap: { name: 'greeting' } },
          {
            name: 'podinfo',
            downwardAPI: { items: [{ path: 'labels', fieldRef: { fieldPath: 'metadata.labels' } }] },
          },
          { name: 'scratch', emptyDir: {} },
        ],
      },
    });
    const pod = await eventually('volumes ready (exec probe)', async () => {
      const p = await get(['pod', 'volumes']);
      return p.status?.containerStatuses?.[0]?.ready && p.status.podIP ? p : undefined;
    });
    const env = await eventually('testbox answers', () =>
      http(`http://${pod.status.podIP}:8080/env`).catch(() => undefined),
    );
    const { readFileSync, statSync } = await import('node:fs');
    expect(env.GREETING_FILE).not.toBe('/etc/greeting/text');
    expect(env.GREETING_FILE).toMatch(new RegExp(`/pods/${pod.metadata.uid}/volumes/greeting/text$`));
    expect(readFileSync(env.GREETING_FILE, 'utf8')).toBe('hello');
    expect(readFileSync(env.LABELS_FILE, 'utf8')).toBe('tier="test"');
    expect(statSync(env.SCRATCH).isDirectory()).toBe(true);
    expect(readFileSync(`${env.SA_DIR}/namespace`, 'utf8')).toBe(ns);
    expect(readFileSync(`${env.SA_DIR}/token`, 'utf8')).toMatch(/^ey/);
    expect(readFileSync(`${env.SA_DIR}/ca.crt`, 'utf8')).toMatch(/BEGIN CERTIFICATE/);
    // Hard-coded container paths work too, through the fs shim preloaded into the process.
    const file = async (path: string): Promise<string> =>
      (await http(`http://${pod.status.podIP}:8080/file?path=${encodeURIComponent(path)}`)).content;
    expect(await file('/etc/greeting/text')).toBe('hello');
    expect(await file('/var/run/secrets/kubernetes.io/serviceaccount/namespace')).toBe(ns);
    expect(`https://${env.KUBERNETES_SERVICE_HOST}:${env.KUBERNETES_SERVICE_PORT}`).toBe(
      testEnv().apiServerUrl,
    );

    await apply({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'greeting' },
      data: { text: 'bonjour' },
    });
    await eventually(
      'configMap update in the volume',
      async () => (readFileSync(env.GREETING_FILE, 'utf8') === 'bonjour' ? true : undefined),
      20_000,
    );
  });

  it('keeps working after the API server restarts (watch resumes or relists)', async () => {
    await restartApiServer();
    await apply({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'after-restart' },
      spec: {
        restartPolicy: 'Never',
        containers: [{ name: 'run', image: testbox, args: ['run', '--exit-code', '0'] }],
      },
    });
    await eventually('after-restart Succeeded', async () =>
      (await get(['pod', 'after-restart'])).status?.phase === 'Succeeded' ? true : undefined,
    );
  });
});
