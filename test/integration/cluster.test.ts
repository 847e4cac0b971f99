import { CoreV1Api } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { kubeConfig, kubectl, restartApiServer, testEnv } from './env.ts';

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
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function ok(args: string[], input?: string): Promise<string> {
  const r = await kubectl(args, { input });
  expect(r.code, `kubectl ${args.join(' ')}: ${r.stderr}`).toBe(0);
  return r.stdout;
}

const unique = (prefix: string): string => `${prefix}-${Math.random().toString(36).slice(2, 8)}`;

describe('local cluster', () => {
  it('serves Kubernetes v1.36.3 to the kubectl of the same version', async () => {
    const v = JSON.parse(await ok(['version', '-o', 'json']));
    expect(v.serverVersion.gitVersion).toBe('v1.36.3');
    expect(v.clientVersion.gitVersion).toBe('v1.36.3');
  });

  it('answers client-node with the admin kubeconfig', async () => {
    const api = kubeConfig().makeApiClient(CoreV1Api);
    const namespaces = await api.listNamespace();
    expect(namespaces.items.map((n) => n.metadata?.name)).toEqual(
      expect.arrayContaining(['default', 'kube-system']),
    );
  });

  it('enforces RBAC: a ServiceAccount without roles is forbidden', async () => {
    const denied = await kubectl([
      'get',
      'pods',
      '-n',
      'default',
      '--as=system:serviceaccount:default:nobody',
    ]);
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toMatch(/forbidden/i);
    expect(
      (
        await kubectl(['auth', 'can-i', 'create', 'deployments', '--as=system:serviceaccount:default:nobody'])
      ).stdout.trim(),
    ).toBe('no');
    expect((await ok(['auth', 'can-i', 'create', 'deployments'])).trim()).toBe('yes');
  });

  it('finalizes a deleted Namespace (namespace controller)', async () => {
    const ns = unique('it-ns');
    await ok(['create', 'namespace', ns]);
    await ok(['create', 'configmap', 'c', '-n', ns, '--from-literal=a=b']);
    // Without --wait=false kubectl would block on the finalizer itself; the test polls instead.
    await ok(['delete', 'namespace', ns, '--wait=false']);
    await eventually(`namespace ${ns} to disappear`, async () => {
      const r = await kubectl(['get', 'namespace', ns]);
      return r.code !== 0 && /NotFound/.test(r.stderr) ? true : undefined;
    });
  });

  it('issues ServiceAccount tokens (TokenRequest and the token controller)', async () => {
    const sa = unique('it-sa');
    await ok(['create', 'serviceaccount', sa, '-n', 'default']);
    const token = (await ok(['create', 'token', sa, '-n', 'default'])).trim();
    const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString());
    expect(claims.sub).toBe(`system:serviceaccount:default:${sa}`);
    expect(claims.iss).toBe('https://kubernetes.default.svc.cluster.local');

    const secret = `${sa}-token`;
    await ok(
      ['apply', '-f', '-'],
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Secret',
        type: 'kubernetes.io/service-account-token',
        metadata: {
          name: secret,
          namespace: 'default',
          annotations: { 'kubernetes.io/service-account.name': sa },
        },
      }),
    );
    const legacy = await eventually('the token controller to fill the Secret', async () => {
      const r = await kubectl(['get', 'secret', secret, '-n', 'default', '-o', 'jsonpath={.data.token}']);
      return r.stdout ? Buffer.from(r.stdout, 'base64').toString() : undefined;
    });
    const review = JSON.parse(
      await ok(
        ['create', '-f', '-', '-o', 'json'],
        JSON.stringify({
          apiVersion: 'authentication.k8s.io/v1',
          kind: 'TokenReview',
          spec: { token: legacy },
        }),
      ),
    );
    expect(review.status.user.username).toBe(`system:serviceaccount:default:${sa}`);
  });

  it('turns a Deployment into a ReplicaSet and Pods, and collects them when it is deleted', async () => {
    const name = unique('it-deploy');
    await ok([
      'create',
      'deployment',
      name,
      '-n',
      'default',
      '--image=example.invalid/not-a-prognos-image:1',
      '--replicas=2',
    ]);
    const rs = await eventually('a ReplicaSet', async () => {
      const out = JSON.parse(
        await ok(['get', 'replicasets', '-n', 'default', '-l', `app=${name}`, '-o', 'json']),
      );
      return out.items[0];
    });
    expect(rs.metadata.ownerReferences[0]).toMatchObject({ kind: 'Deployment', name });
    const pods = await eventually('two Pods', async () => {
      const out = JSON.parse(await ok(['get', 'pods', '-n', 'default', '-l', `app=${name}`, '-o', 'json']));
      return out.items.length === 2 ? out.items : undefined;
    });
    for (const pod of pods) {
      expect(pod.metadata.ownerReferences[0]).toMatchObject({ kind: 'ReplicaSet', name: rs.metadata.name });
      // An image the pod runner cannot run never looks Running.
      expect(pod.status.phase).toBe('Pending');
    }
    await ok(['delete', 'deployment', name, '-n', 'default', '--wait=false']);
    await eventually('the garbage collector to remove the ReplicaSet', async () => {
      const out = JSON.parse(
        await ok(['get', 'replicasets', '-n', 'default', '-l', `app=${name}`, '-o', 'json']),
      );
      return out.items.length === 0 ? true : undefined;
    });
  });

  it('restarts the API server on the same address with the same data', async () => {
    const ns = unique('it-restart');
    await ok(['create', 'namespace', ns]);
    await restartApiServer();
    expect(await ok(['get', 'namespace', ns, '-o', 'name'])).toContain(ns);
    expect(testEnv().apiServerUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    await ok(['delete', 'namespace', ns, '--wait=false']);
  });
});
