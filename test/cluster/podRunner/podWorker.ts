import type { V1Container, V1Pod } from '@kubernetes/client-node';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolveLocalImage } from '../images.ts';
import { ContainerRunner, type ContainerBlocked, type ContainerLaunch } from './container.ts';
import { resolveEnv, referencedObjects, type ReferencedData } from './env.ts';
import { podEvent, recordEvent } from './events.ts';
import { expandVars } from './expand.ts';
import { mountsEnvVar } from './fsPathShim.ts';
import type { NodeAllocatable } from './fieldRefs.ts';
import { KubeApiError, type KubeClient } from './kubeClient.ts';
import { sleep } from './listWatch.ts';
import { mountMappings, translatePath } from './paths.ts';
import type { PodIpAllocator } from './podIps.ts';
import { computePodStatus, isoTime, type OwnedPodStatus } from './status.ts';
import { stateDirMarker } from '../stateDirProcesses.ts';
import { TERMINATION_MESSAGE_PATH_ENV } from '../../../contracts/training.ts';
import { volumeContent, writeVolume } from './volumes.ts';

/** What every pod worker shares with the runner. */
export interface RunnerContext {
  client: KubeClient;
  nodeName: string;
  hostIP: string;
  stateDir: string;
  repoRoot: string;
  ips: PodIpAllocator;
  allocatable: NodeAllocatable;
  /** The API server's real address; pods get it as the `kubernetes` service (there is no kube-proxy). */
  apiServer: URL;
  log: (line: string) => void;
}

/** Variables a container process gets besides the pod's own env (a container image's defaults). */
const inheritedEnv = [
  'PATH',
  'HOME',
  'PROGNOS_CACHE_DIR',
  'XDG_CACHE_HOME',
  'PROGNOS_NODE_VERSION',
  'TMPDIR',
];
const volumeResyncMs = 3000;
const mountShim = fileURLToPath(new URL('./mountShim.ts', import.meta.url));

/**
 * Runs one pod bound to this node: assigns its IP, materialises its volumes (kept in sync with their
 * ConfigMaps/Secrets), runs its containers, reports its status, and tears it down on deletion.
 */
export class PodWorker {
  readonly uid: string;
  readonly podIP: string;
  #pod: V1Pod;
  readonly #ctx: RunnerContext;
  readonly #containers: ContainerRunner[];
  readonly #startTime: string;
  readonly #alive = new AbortController();
  #terminal = false;
  #terminating: Promise<void> | undefined;
  #lastStatus = '';
  #statusTimer: NodeJS.Timeout | undefined;
  #statusWrite: Promise<void> = Promise.resolve();
  #volumesReady: Promise<ReferencedData | string> | undefined;
  readonly #tokens = new Map<string, { token: string; refreshAt: number }>();

  constructor(ctx: RunnerContext, pod: V1Pod) {
    this.#ctx = ctx;
    this.#pod = pod;
    this.uid = pod.metadata!.uid!;
    const previousIP = pod.status?.podIP;
    this.podIP = previousIP && ctx.ips.claim(previousIP) ? previousIP : ctx.ips.allocate();
    this.#startTime = pod.status?.startTime ? isoTime(pod.status.startTime) : isoTime(new Date());
    const grace = pod.spec?.terminationGracePeriodSeconds ?? 30;
    this.#containers = (pod.spec?.containers ?? []).map(
      (c) =>
        new ContainerRunner(
          c,
          pod.spec?.restartPolicy,
          grace,
          pod.status?.containerStatuses?.find((s) => s.name === c.name)?.restartCount ?? 0,
          {
            prepare: () => this.#prepare(c),
            onChange: () => this.#statusChanged(),
            log: (line) => ctx.log(`pod ${this.name}: ${line}`),
            event: (type, reason, message) =>
              recordEvent(
                ctx.client,
                podEvent(this.#pod, 'kubelet', ctx.nodeName, type, reason, message, c.name, new Date()),
                ctx.log,
              ),
          },
        ),
    );
  }

  get name(): string {
    return `${this.#pod.metadata?.namespace}/${this.#pod.metadata?.name}`;
  }

  /** Pids of the running container processes. */
  get pids(): number[] {
    return this.#containers.flatMap((c) => (c.pid === undefined ? [] : [c.pid]));
  }

  start(): void {
    this.#statusChanged();
    for (const c of this.#containers) c.run();
    void this.#resyncVolumes();
  }

  /** Takes the newest object from the watch; a deletionTimestamp starts graceful termination. */
  update(pod: V1Pod): void {
    this.#pod = pod;
    if (pod.metadata?.deletionTimestamp && !this.#terminating) {
      const grace = pod.metadata.deletionGracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 30;
      this.#terminating = this.#terminate(grace * 1000, true);
    }
  }

  /** The pod object is gone (or the runner stops): kill everything now, report nothing more. */
  async kill(graceMs: number): Promise<void> {
    this.#alive.abort();
    clearTimeout(this.#statusTimer);
    await Promise.all(this.#containers.map((c) => c.stop(graceMs)));
  }

  /** Releases the pod's IP and volume directories once the pod object is gone. */
  cleanup(): void {
    this.#ctx.ips.release(this.podIP);
    rmSync(this.#podDir(), { recursive: true, force: true });
  }

  async #terminate(graceMs: number, deleteAfter: boolean): Promise<void> {
    await Promise.all(this.#containers.map((c) => c.stop(graceMs)));
    this.#terminal = true;
    if (this.#alive.signal.aborted) return;
    await this.#flushStatus();
    if (!deleteAfter) return;
    const md = this.#pod.metadata!;
    await this.#ctx.client
      .request('DELETE', `/api/v1/namespaces/${md.namespace}/pods/${md.name}`, {
        apiVersion: 'v1',
        kind: 'DeleteOptions',
        gracePeriodSeconds: 0,
        preconditions: { uid: this.uid },
      })
      .catch((err: Error) => {
        if (!(err instanceof KubeApiError && (err.status === 404 || err.status === 409))) {
          this.#ctx.log(`deleting pod ${this.name}: ${err.message}`);
        }
      });
  }

  #podDir(): string {
    return join(this.#ctx.stateDir, 'pods', this.uid);
  }

  #volumePath(name: string): string {
    const hostPath = this.#pod.spec?.volumes?.find((v) => v.name === name)?.hostPath;
    return hostPath ? hostPath.path : join(this.#podDir(), 'volumes', name);
  }

  async #fetchData(): Promise<ReferencedData> {
    const ns = this.#pod.metadata!.namespace!;
    const refs = referencedObjects(this.#pod);
    const get = async (kind: string, name: string): Promise<Record<string, string> | undefined> => {
      try {
        const obj = await this.#ctx.client.request<{ data?: Record<string, string> }>(
          'GET',
          `/api/v1/namespaces/${ns}/${kind}/${name}`,
        );
        return obj.data ?? {};
      } catch (err) {
        if (err instanceof KubeApiError && err.status === 404) return undefined;
        throw err;
      }
    };
    const configMaps = new Map<string, Record<string, string> | undefined>();
    const secrets = new Map<string, Record<string, string> | undefined>();
    for (const n of refs.configMaps) configMaps.set(n, await get('configmaps', n));
    for (const n of refs.secrets) secrets.set(n, await get('secrets', n));
    const tokens = new Map<string, string>();
    for (const v of this.#pod.spec?.volumes ?? []) {
      for (const s of v.projected?.sources ?? []) {
        const t = s.serviceAccountToken;
        if (!t || tokens.has(t.audience ?? '')) continue;
        tokens.set(t.audience ?? '', await this.#token(t.audience ?? '', t.expirationSeconds ?? 3607));
      }
    }
    return { configMaps, secrets, tokens };
  }

  /** Like the kubelet, reuses a token until 80% of its lifetime has passed. */
  async #token(audience: string, expirationSeconds: number): Promise<string> {
    const cached = this.#tokens.get(audience);
    if (cached && Date.now() < cached.refreshAt) return cached.token;
    const token = await this.#requestToken(audience, expirationSeconds);
    this.#tokens.set(audience, { token, refreshAt: Date.now() + expirationSeconds * 800 });
    return token;
  }

  async #requestToken(audience: string, expirationSeconds: number): Promise<string> {
    const md = this.#pod.metadata!;
    const sa = this.#pod.spec?.serviceAccountName || 'default';
    const res = await this.#ctx.client.request<{ status: { token: string } }>(
      'POST',
      `/api/v1/namespaces/${md.namespace}/serviceaccounts/${sa}/token`,
      {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenRequest',
        spec: {
          ...(audience ? { audiences: [audience] } : {}),
          expirationSeconds,
          boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: md.name, uid: md.uid },
        },
      },
    );
    return res.status.token;
  }

  /** Fetches referenced objects and (re)writes every volume; returns the data or an error message. */
  async #syncVolumes(): Promise<ReferencedData | string> {
    let data: ReferencedData;
    try {
      data = await this.#fetchData();
    } catch (err) {
      return `fetching referenced objects: ${(err as Error).message}`;
    }
    const addr = { podIP: this.podIP, hostIP: this.#ctx.hostIP };
    for (const v of this.#pod.spec?.volumes ?? []) {
      const content = volumeContent(this.#pod, v, data, addr, this.#ctx.allocatable);
      if (content.kind === 'error') return `MountVolume.SetUp failed for ${content.message}`;
      if (content.kind === 'emptyDir') mkdirSync(this.#volumePath(v.name), { recursive: true });
      else if (content.kind === 'files') writeVolume(this.#volumePath(v.name), content.files);
    }
    return data;
  }

  /** Kubelet refreshes projected volumes periodically; so does this, while the pod lives. */
  async #resyncVolumes(): Promise<void> {
    while (!this.#alive.signal.aborted && !this.#terminal) {
      await sleep(volumeResyncMs, this.#alive.signal);
      if (this.#alive.signal.aborted || this.#terminating) return;
      if (this.#containers.every((c) => c.finished)) return;
      const result = await this.#syncVolumes();
      if (typeof result === 'string') this.#ctx.log(`pod ${this.name}: ${result}`);
    }
  }

  async #prepare(c: V1Container): Promise<ContainerLaunch | ContainerBlocked> {
    if ((this.#pod.spec?.initContainers ?? []).length > 0) {
      return {
        reason: 'CreateContainerConfigError',
        message: 'init containers are not supported by the Prognos pod runner',
        retry: false,
      };
    }
    const image = resolveLocalImage(this.#ctx.repoRoot, c.image ?? '', undefined, undefined);
    if (!image.ok && image.reason === 'ErrImagePull') return { ...image, retry: false };
    this.#volumesReady ??= this.#syncVolumes();
    const data = await this.#volumesReady;
    if (typeof data === 'string') {
      this.#volumesReady = undefined;
      return { reason: 'ContainerCreating', message: data, retry: true };
    }
    const addr = { podIP: this.podIP, hostIP: this.#ctx.hostIP };
    const env = resolveEnv(this.#pod, c, addr, this.#ctx.allocatable, data);
    if (!env.ok) {
      this.#volumesReady = undefined;
      return { reason: 'CreateContainerConfigError', message: env.message, retry: true };
    }
    const mounts = mountMappings(c, (n) => this.#volumePath(n));
    const translate = (v: string): string => translatePath(v, mounts);
    const expand = (v: string): string => translate(expandVars(v, env.env));
    const resolved = resolveLocalImage(
      this.#ctx.repoRoot,
      c.image ?? '',
      c.command?.map(expand),
      c.args?.map(expand),
    );
    if (!resolved.ok) return { reason: resolved.reason, message: resolved.message, retry: false };
    // The environment marker lets env:down prove that no container process outlived it.
    const processEnv: Record<string, string> = {
      HOSTNAME: this.#pod.metadata!.name!,
      [stateDirMarker]: this.#ctx.stateDir,
    };
    for (const k of inheritedEnv) if (process.env[k] !== undefined) processEnv[k] = process.env[k];
    Object.assign(processEnv, kubernetesServiceEnv(this.#ctx.apiServer));
    for (const [k, v] of env.env) processEnv[k] = translate(v);
    // No container filesystem to hold terminationMessagePath: the process is told its own file.
    const terminationFile = join(this.#podDir(), 'termination', c.name);
    processEnv[TERMINATION_MESSAGE_PATH_ENV] = terminationFile;
    const workingDir = c.workingDir ? translate(c.workingDir) : undefined;
    const md = this.#pod.metadata!;
    // With volumes, preload the fs shim so hard-coded paths under a mountPath find them too.
    const shim = mounts.length > 0 ? ['--import', mountShim] : [];
    if (mounts.length > 0) processEnv[mountsEnvVar] = JSON.stringify(mounts);
    return {
      argv: [
        join(this.#ctx.repoRoot, 'scripts/node24'),
        ...shim,
        join(this.#ctx.repoRoot, resolved.entry),
        ...resolved.args,
      ],
      env: processEnv,
      cwd: workingDir && existsSync(workingDir) ? workingDir : this.#ctx.repoRoot,
      logFile: join(this.#ctx.stateDir, 'pods', `${md.namespace}_${md.name}`, `${c.name}.log`),
      pidFile: join(this.#podDir(), 'pids', c.name),
      imageID: resolved.imageID,
      termination: { file: terminationFile, policy: c.terminationMessagePolicy },
      probeTarget: {
        podIP: this.podIP,
        ports: c.ports ?? [],
        env: processEnv,
        cwd: this.#ctx.repoRoot,
        translate,
      },
    };
  }

  #statusChanged(): void {
    if (this.#alive.signal.aborted || this.#statusTimer) return;
    // Coalesce bursts (all containers starting at once) into one write.
    this.#statusTimer = setTimeout(() => {
      this.#statusTimer = undefined;
      void this.#flushStatus();
    }, 50);
  }

  #flushStatus(): Promise<void> {
    this.#statusWrite = this.#statusWrite.then(() => this.#writeStatus());
    return this.#statusWrite;
  }

  async #writeStatus(): Promise<void> {
    if (this.#alive.signal.aborted) return;
    const status = computePodStatus(
      this.#pod,
      {
        containers: this.#containers.map((c) => c.snapshot()),
        restartPolicy: this.#pod.spec?.restartPolicy,
        podIP: this.podIP,
        hostIP: this.#ctx.hostIP,
        startTime: this.#startTime,
        terminal: this.#terminal,
      },
      isoTime(new Date()),
    );
    const json = JSON.stringify(status);
    if (json === this.#lastStatus) return;
    const md = this.#pod.metadata!;
    try {
      const updated = await this.#ctx.client.request<V1Pod>(
        'PATCH',
        `/api/v1/namespaces/${md.namespace}/pods/${md.name}/status`,
        statusPatch(status, this.uid),
        'application/json-patch+json',
      );
      this.#lastStatus = json;
      if (updated.metadata?.resourceVersion) this.#pod = { ...this.#pod, status: updated.status };
    } catch (err) {
      if (err instanceof KubeApiError && err.status === 404) return;
      if (err instanceof KubeApiError && err.status === 422) {
        // Invalid status or a recreated pod (uid test failed): retrying the same patch cannot help.
        this.#ctx.log(`status of ${this.name} rejected: ${err.message}`);
        return;
      }
      this.#ctx.log(`patching status of ${this.name}: ${(err as Error).message}`);
      // Retry later; the status will be recomputed then.
      void sleep(1000, this.#alive.signal).then(() => this.#statusChanged());
    }
  }
}

/**
 * JSON patch that sets exactly the fields the pod runner owns. `test` on the uid guards against
 * writing into a recreated pod of the same name; `add` on an existing member replaces it, and,
 * unlike a merge patch, it replaces `state` whole (a merge would keep `running` next to `terminated`).
 */
export function statusPatch(status: OwnedPodStatus, uid: string): unknown[] {
  return [
    { op: 'test', path: '/metadata/uid', value: uid },
    ...Object.entries(status).map(([k, v]) => ({ op: 'add', path: `/status/${k}`, value: v })),
  ];
}

/**
 * The variables the kubelet always injects for the `kubernetes` service. They point at the API
 * server's real address rather than a ClusterIP, because nothing here routes service IPs.
 */
export function kubernetesServiceEnv(server: URL): Record<string, string> {
  const host = server.hostname;
  const port = server.port || '443';
  return {
    KUBERNETES_SERVICE_HOST: host,
    KUBERNETES_SERVICE_PORT: port,
    KUBERNETES_SERVICE_PORT_HTTPS: port,
    KUBERNETES_PORT: `tcp://${host}:${port}`,
    KUBERNETES_PORT_443_TCP: `tcp://${host}:${port}`,
    KUBERNETES_PORT_443_TCP_PROTO: 'tcp',
    KUBERNETES_PORT_443_TCP_ADDR: host,
    KUBERNETES_PORT_443_TCP_PORT: port,
  };
}
