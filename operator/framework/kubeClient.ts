import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import {
  Agent as HttpsAgent,
  request as httpsRequest,
  type RequestOptions as HttpsRequestOptions,
} from 'node:https';
import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import type { Fence } from './fence.ts';
import { collectionPath, objectPath, type GroupVersionKind, type ResourceInfo } from './gvk.ts';

/** A non-2xx answer of the API server, with the code and reason of its Status body. */
export class ApiError extends Error {
  readonly statusCode: number;
  readonly reason: string | undefined;

  constructor(statusCode: number, reason: string | undefined, message: string) {
    super(message);
    this.name = 'ApiError';
    this.statusCode = statusCode;
    this.reason = reason;
  }
}

export const isNotFound = (e: unknown): boolean => e instanceof ApiError && e.statusCode === 404;
export const isConflict = (e: unknown): boolean => e instanceof ApiError && e.statusCode === 409;
export const isGone = (e: unknown): boolean => e instanceof ApiError && e.statusCode === 410;

export type Query = Record<string, string | number | boolean | undefined>;

export interface RequestOptions {
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  query?: Query;
  body?: unknown;
  contentType?: string;
  signal?: AbortSignal;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
export interface WatchEvent<T extends KubernetesObject = KubernetesObject> {
  type: WatchEventType;
  object: T;
}

export interface ObjectRef extends GroupVersionKind {
  namespace?: string;
  name: string;
}

export interface ListOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
}

export interface WatchOptions extends ListOptions {
  resourceVersion: string;
  timeoutSeconds: number;
  /** Client-side inactivity limit: a half-open connection must not hang a watch forever. */
  idleTimeoutMs: number;
}

/** A list page as on the wire (client-node's V1ListMeta renames `continue` to `_continue`). */
interface ListPage<T> {
  metadata?: { resourceVersion?: string; continue?: string };
  items: T[];
}

const requestTimeoutMs = 30_000;
const listPageSize = 500;

/**
 * A small REST client for any kind, built on node:http(s) with the credentials of a client-node
 * KubeConfig. We own the transport because the reflector needs what the generated clients hide:
 * list resourceVersion, watch bookmarks and timeouts, subresources and every patch content type.
 */
export class KubeClient {
  readonly kubeConfig: KubeConfig;
  /** Discovery and connections, shared with the fenced views of this client. */
  readonly #shared: { discovery: Map<string, Promise<ResourceInfo[]>>; agent?: HttpAgent };
  readonly #fence: Fence | undefined;

  constructor(kubeConfig: KubeConfig, view?: { of: KubeClient; fence: Fence }) {
    this.kubeConfig = kubeConfig;
    this.#shared = view ? view.of.#shared : { discovery: new Map() };
    this.#fence = view?.fence;
  }

  /**
   * This client for one term as leader: every write first passes `fence.check()`, and every request
   * (reads too) is aborted when the term ends. Shares discovery and connections with this client.
   */
  fenced(fence: Fence): KubeClient {
    return new KubeClient(this.kubeConfig, { of: this, fence });
  }

  async request<T>(options: RequestOptions): Promise<T> {
    const fence = this.#fence;
    if (!fence) return this.#request(options);
    if ((options.method ?? 'GET') !== 'GET') fence.check();
    const signal = options.signal ? AbortSignal.any([options.signal, fence.signal]) : fence.signal;
    try {
      return await this.#request<T>({ ...options, signal });
    } catch (error) {
      // A request cut off by the end of the term reports why (FencedError), not a socket error.
      if (fence.signal.aborted) throw fence.signal.reason;
      throw error;
    }
  }

  async #request<T>(options: RequestOptions): Promise<T> {
    const res = await this.#send(options, requestTimeoutMs);
    const text = await readBody(res);
    const status = res.statusCode ?? 0;
    if (status < 200 || status >= 300) throw toApiError(status, text);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /** Kind → plural and scope, from the discovery document of its group version (cached). */
  async resource(gvk: GroupVersionKind): Promise<ResourceInfo> {
    const find = (list: ResourceInfo[]) => list.find((r) => r.kind === gvk.kind);
    const cached = this.#shared.discovery.get(gvk.apiVersion);
    const hit = cached && find(await cached.catch(() => []));
    if (hit) return hit;
    // A miss refreshes: the CRD may have been installed since.
    const fresh = this.#discover(gvk.apiVersion);
    this.#shared.discovery.set(gvk.apiVersion, fresh);
    const found = find(await fresh);
    if (!found)
      throw new ApiError(404, 'NotFound', `the server does not serve ${gvk.kind} in ${gvk.apiVersion}`);
    return found;
  }

  async get<T extends KubernetesObject>(ref: ObjectRef): Promise<T | undefined> {
    const res = await this.resource(ref);
    try {
      return await this.request<T>({ path: objectPath(res, ref.namespace, ref.name) });
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }

  /** Lists every page; the resourceVersion is the list's, to watch from. */
  async list<T extends KubernetesObject>(
    gvk: GroupVersionKind,
    options: ListOptions = {},
    signal?: AbortSignal,
  ): Promise<{ items: T[]; resourceVersion: string }> {
    const res = await this.resource(gvk);
    const items: T[] = [];
    let cont: string | undefined;
    let resourceVersion: string;
    do {
      const page = await this.request<ListPage<T>>({
        path: collectionPath(res, options.namespace),
        query: {
          labelSelector: options.labelSelector,
          fieldSelector: options.fieldSelector,
          limit: listPageSize,
          continue: cont,
        },
        signal,
      });
      // List items carry no apiVersion/kind; handlers and owner mapping want them.
      for (const item of page.items) items.push({ ...item, apiVersion: gvk.apiVersion, kind: gvk.kind });
      cont = page.metadata?.continue || undefined;
      resourceVersion = page.metadata?.resourceVersion ?? '';
    } while (cont);
    return { items, resourceVersion };
  }

  /**
   * Streams watch events until the server closes the watch (resolves), the signal aborts (resolves)
   * or the connection fails (rejects). A non-200 answer rejects with an ApiError (e.g. 410 Gone).
   */
  async watch(
    gvk: GroupVersionKind,
    options: WatchOptions,
    onEvent: (event: WatchEvent) => void,
    signal: AbortSignal,
  ): Promise<void> {
    const res = await this.resource(gvk);
    const response = await this.#send(
      {
        path: collectionPath(res, options.namespace),
        query: {
          watch: true,
          resourceVersion: options.resourceVersion,
          allowWatchBookmarks: true,
          timeoutSeconds: options.timeoutSeconds,
          labelSelector: options.labelSelector,
          fieldSelector: options.fieldSelector,
        },
        signal,
      },
      options.idleTimeoutMs,
    );
    if (response.statusCode !== 200) throw toApiError(response.statusCode ?? 0, await readBody(response));
    await new Promise<void>((resolve, reject) => {
      let buffer = '';
      let failed = false;
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        if (failed) return;
        buffer += chunk;
        let nl: number;
        try {
          while ((nl = buffer.indexOf('\n')) >= 0) {
            const line = buffer.slice(0, nl).trim();
            buffer = buffer.slice(nl + 1);
            if (line) onEvent(JSON.parse(line) as WatchEvent);
          }
        } catch (e) {
          // An emitter listener must not throw: that would be an uncaught exception.
          failed = true;
          reject(e);
        }
      });
      response.on('end', resolve);
      response.on('error', (e) => (signal.aborted ? resolve() : reject(e)));
      // 'close' without 'end' or 'error': the connection died mid-stream (settling twice is a no-op).
      response.on('close', () =>
        signal.aborted || response.complete ? resolve() : reject(new Error('watch connection closed')),
      );
    }).catch((e: unknown) => {
      response.destroy();
      throw e;
    });
  }

  async create<T extends KubernetesObject>(obj: T): Promise<T> {
    const res = await this.resource(gvkOf(obj));
    return this.request<T>({ method: 'POST', path: collectionPath(res, obj.metadata?.namespace), body: obj });
  }

  /** PUT: optimistic concurrency through metadata.resourceVersion (409 when stale). */
  async replace<T extends KubernetesObject>(obj: T, subresource?: string): Promise<T> {
    const res = await this.resource(gvkOf(obj));
    const path = objectPath(res, obj.metadata?.namespace, obj.metadata?.name ?? '', subresource);
    return this.request<T>({ method: 'PUT', path, body: obj });
  }

  async patch<T extends KubernetesObject>(
    ref: ObjectRef,
    body: unknown,
    contentType: string,
    options: { subresource?: string; query?: Query } = {},
  ): Promise<T> {
    const res = await this.resource(ref);
    const path = objectPath(res, ref.namespace, ref.name, options.subresource);
    return this.request<T>({ method: 'PATCH', path, body, contentType, query: options.query });
  }

  /** Deletes; an object that is already gone is not an error. */
  async delete(
    ref: ObjectRef,
    propagationPolicy: 'Background' | 'Foreground' | 'Orphan' = 'Background',
    preconditions?: { uid?: string; resourceVersion?: string },
  ): Promise<void> {
    const res = await this.resource(ref);
    try {
      await this.request({
        method: 'DELETE',
        path: objectPath(res, ref.namespace, ref.name),
        body: {
          apiVersion: 'v1',
          kind: 'DeleteOptions',
          propagationPolicy,
          ...(preconditions ? { preconditions } : {}),
        },
      });
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }

  async #discover(apiVersion: string): Promise<ResourceInfo[]> {
    const path = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
    const list = await this.request<{ resources: { name: string; kind: string; namespaced: boolean }[] }>({
      path,
    });
    return list.resources
      .filter((r) => !r.name.includes('/')) // subresources
      .map((r) => ({ apiVersion, kind: r.kind, plural: r.name, namespaced: r.namespaced }));
  }

  async #send(options: RequestOptions, idleTimeoutMs: number): Promise<IncomingMessage> {
    const cluster = this.kubeConfig.getCurrentCluster();
    if (!cluster) throw new Error('kubeconfig has no current cluster');
    const url = new URL(cluster.server.replace(/\/$/, '') + options.path);
    for (const [k, v] of Object.entries(options.query ?? {}))
      if (v !== undefined) url.searchParams.set(k, String(v));
    const opts: HttpsRequestOptions = { method: options.method ?? 'GET', headers: {} };
    await this.kubeConfig.applyToHTTPSOptions(opts);
    if (!cluster.proxyUrl) opts.agent = this.#keepAliveAgent(url, opts);
    const headers = opts.headers as Record<string, string>;
    headers.Accept = 'application/json';
    const body = options.body === undefined ? undefined : JSON.stringify(options.body);
    if (body !== undefined) {
      headers['Content-Type'] = options.contentType ?? 'application/json';
      headers['Content-Length'] = String(Buffer.byteLength(body));
    }
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const req = send(url, { ...opts, signal: options.signal }, resolve);
      req.setTimeout(idleTimeoutMs, () =>
        req.destroy(new Error(`no answer from the API server in ${idleTimeoutMs} ms`)),
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  // client-node's agents do not keep connections alive; a TLS handshake per request would dominate.
  #keepAliveAgent(url: URL, tls: HttpsRequestOptions): HttpAgent {
    if (!this.#shared.agent) {
      this.#shared.agent =
        url.protocol === 'https:'
          ? new HttpsAgent({
              keepAlive: true,
              ca: tls.ca,
              cert: tls.cert,
              key: tls.key,
              rejectUnauthorized: tls.rejectUnauthorized,
              servername: tls.servername,
            })
          : new HttpAgent({ keepAlive: true });
    }
    return this.#shared.agent;
  }
}

export function gvkOf(obj: KubernetesObject): GroupVersionKind {
  if (!obj.apiVersion || !obj.kind)
    throw new Error(`object ${obj.metadata?.name ?? '?'} lacks apiVersion or kind`);
  return { apiVersion: obj.apiVersion, kind: obj.kind };
}

export function refOf(obj: KubernetesObject): ObjectRef {
  return { ...gvkOf(obj), namespace: obj.metadata?.namespace, name: obj.metadata?.name ?? '' };
}

async function readBody(res: IncomingMessage): Promise<string> {
  res.setEncoding('utf8');
  let text = '';
  for await (const chunk of res) text += chunk as string;
  return text;
}

function toApiError(statusCode: number, text: string): ApiError {
  try {
    const status = JSON.parse(text) as { code?: number; reason?: string; message?: string };
    return new ApiError(status.code ?? statusCode, status.reason, status.message ?? text);
  } catch {
    return new ApiError(statusCode, undefined, text || `HTTP ${statusCode}`);
  }
}
