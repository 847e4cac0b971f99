import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FencedError, TermFence } from './fence.ts';
import { ApiError, KubeClient, type WatchEvent } from './kubeClient.ts';

type Route = (req: IncomingMessage, res: ServerResponse, url: URL) => void;

describe('KubeClient against a scripted HTTP server', () => {
  let route: Route = () => undefined;
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/api/v1') {
      res.end(
        JSON.stringify({
          resources: [
            { name: 'configmaps', kind: 'ConfigMap', namespaced: true },
            { name: 'configmaps/status', kind: 'ConfigMap', namespaced: true },
          ],
        }),
      );
      return;
    }
    route(req, res, url);
  });
  let client: KubeClient;
  const CM = { apiVersion: 'v1', kind: 'ConfigMap' };

  beforeAll(async () => {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [
        {
          name: 'c',
          server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
          skipTLSVerify: true,
        },
      ],
      users: [{ name: 'u', token: 'secret' }],
      contexts: [{ name: 'ctx', cluster: 'c', user: 'u' }],
      currentContext: 'ctx',
    });
    client = new KubeClient(kc);
  });
  afterAll(() => {
    server.closeAllConnections();
    server.close();
  });

  it('sends credentials, maps 404 to undefined and other failures to ApiError', async () => {
    let auth: string | undefined;
    route = (req, res, url) => {
      auth = req.headers.authorization;
      if (url.pathname.endsWith('/missing'))
        res.writeHead(404).end(JSON.stringify({ code: 404, reason: 'NotFound', message: 'nope' }));
      else res.writeHead(409).end(JSON.stringify({ code: 409, reason: 'Conflict', message: 'stale' }));
    };
    expect(await client.get({ ...CM, namespace: 'ns', name: 'missing' })).toBeUndefined();
    expect(auth).toBe('Bearer secret');
    const err = await client
      .replace({ ...CM, metadata: { name: 'x', namespace: 'ns' } })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ statusCode: 409, reason: 'Conflict', message: 'stale' });
  });

  it('lists every page and stamps apiVersion/kind on the items', async () => {
    const seen: string[] = [];
    route = (_req, res, url) => {
      seen.push(url.search);
      const first = !url.searchParams.get('continue');
      res.end(
        JSON.stringify({
          metadata: { resourceVersion: first ? '10' : '11', continue: first ? 'next' : '' },
          items: [{ metadata: { name: first ? 'a' : 'b', namespace: 'ns' } }],
        }),
      );
    };
    const list = await client.list(CM, { namespace: 'ns', labelSelector: 'app=x' });
    expect(list.resourceVersion).toBe('11');
    expect(list.items).toEqual([
      { ...CM, metadata: { name: 'a', namespace: 'ns' } },
      { ...CM, metadata: { name: 'b', namespace: 'ns' } },
    ]);
    expect(seen).toEqual([
      '?labelSelector=app%3Dx&limit=500',
      '?labelSelector=app%3Dx&limit=500&continue=next',
    ]);
  });

  const watchOpts = { namespace: 'ns', resourceVersion: '5', timeoutSeconds: 60, idleTimeoutMs: 5_000 };

  it('streams watch events split across chunks, with bookmarks requested', async () => {
    let query = '';
    route = (_req, res, url) => {
      query = url.search;
      res.writeHead(200);
      const line =
        JSON.stringify({ type: 'ADDED', object: { metadata: { name: 'a', resourceVersion: '6' } } }) + '\n';
      res.write(line.slice(0, 10));
      setTimeout(() => {
        res.write(
          line.slice(10) +
            JSON.stringify({ type: 'BOOKMARK', object: { metadata: { resourceVersion: '7' } } }) +
            '\n',
        );
        res.end();
      }, 10);
    };
    const events: WatchEvent[] = [];
    await client.watch(CM, watchOpts, (e) => events.push(e), new AbortController().signal);
    expect(events.map((e) => `${e.type}@${e.object.metadata?.resourceVersion}`)).toEqual([
      'ADDED@6',
      'BOOKMARK@7',
    ]);
    expect(query).toContain('watch=true&resourceVersion=5&allowWatchBookmarks=true&timeoutSeconds=60');
  });

  it('rejects a watch refused with 410 Gone as an ApiError, and a connection that dies mid-stream', async () => {
    route = (_req, res) =>
      res.writeHead(410).end(JSON.stringify({ code: 410, reason: 'Expired', message: 'too old' }));
    await expect(
      client.watch(CM, watchOpts, () => undefined, new AbortController().signal),
    ).rejects.toMatchObject({ statusCode: 410 });
    route = (_req, res) => {
      res.writeHead(200);
      res.write('{"type":"ADDED","object":{"metadata":{"name":"a"}}}\n');
      setTimeout(() => res.destroy(), 10);
    };
    await expect(
      client.watch(CM, watchOpts, () => undefined, new AbortController().signal),
    ).rejects.toThrow();
  });

  it('rejects when a handler throws, and resolves quietly when aborted', async () => {
    route = (_req, res) => {
      res.writeHead(200);
      res.write('{"type":"ADDED","object":{"metadata":{"name":"a"}}}\n');
    };
    await expect(
      client.watch(
        CM,
        watchOpts,
        () => {
          throw new Error('handler');
        },
        new AbortController().signal,
      ),
    ).rejects.toThrow('handler');
    const abort = new AbortController();
    const watching = client.watch(CM, watchOpts, () => abort.abort(), abort.signal);
    await expect(watching).resolves.toBeUndefined();
  });

  it('a fenced view refuses writes once its fence trips, and ends its requests with the term', async () => {
    const methods: string[] = [];
    let hold: (() => void) | undefined;
    route = (req, res) => {
      methods.push(req.method ?? '');
      if (req.method === 'GET') {
        hold = () => res.end(JSON.stringify({ metadata: { name: 'x' } }));
        return;
      }
      res.end(JSON.stringify({ metadata: { name: 'x' } }));
    };
    const fence = new TermFence();
    const view = client.fenced(fence);
    await view.create({ ...CM, metadata: { name: 'x', namespace: 'ns' } });
    expect(methods).toEqual(['POST']);

    const reading = view.get({ ...CM, namespace: 'ns', name: 'x' });
    await expect.poll(() => hold).toBeDefined();
    fence.revoke('lost the lease');
    await expect(reading).rejects.toBeInstanceOf(FencedError); // cut off, and says why
    await expect(view.create({ ...CM, metadata: { name: 'y', namespace: 'ns' } })).rejects.toThrow(
      'lost the lease',
    );
    await expect(
      view.patch({ ...CM, namespace: 'ns', name: 'x' }, {}, 'application/merge-patch+json'),
    ).rejects.toBeInstanceOf(FencedError);
    await expect(view.delete({ ...CM, namespace: 'ns', name: 'x' })).rejects.toBeInstanceOf(FencedError);
    expect(methods).toEqual(['POST', 'GET']); // nothing was sent after the fence tripped
    hold?.();
    // The client it came from is not fenced.
    await client.create({ ...CM, metadata: { name: 'z', namespace: 'ns' } });
    expect(methods).toEqual(['POST', 'GET', 'POST']);
  });
});
