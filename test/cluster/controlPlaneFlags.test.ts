import { describe, expect, it } from 'vitest';
import type { ClusterCerts } from './certs.ts';
import {
  apiServerArgs,
  apiServerUrl,
  controllerManagerArgs,
  controllers,
  etcdArgs,
  type ControlPlaneLayout,
} from './controlPlaneFlags.ts';

const certs: ClusterCerts = {
  dir: '/s/pki',
  caCert: '/s/pki/ca.crt',
  caKey: '/s/pki/ca.key',
  apiServerCert: '/s/pki/apiserver.crt',
  apiServerKey: '/s/pki/apiserver.key',
  adminCert: '/s/pki/admin.crt',
  adminKey: '/s/pki/admin.key',
  controllerManagerCert: '/s/pki/kcm.crt',
  controllerManagerKey: '/s/pki/kcm.key',
  serviceAccountKey: '/s/pki/sa.key',
  serviceAccountPub: '/s/pki/sa.pub',
};

const layout: ControlPlaneLayout = {
  stateDir: '/s',
  certs,
  etcdClientPort: 1001,
  etcdPeerPort: 1002,
  apiServerPort: 1003,
  controllerManagerPort: 1004,
  controllerManagerKubeconfig: '/s/kcm.kubeconfig',
};

/** Parses `--name=value` flags into a map, so tests read like the flags they check. */
function flags(args: string[]): Map<string, string> {
  return new Map(
    args.map((a) => {
      const [name, ...rest] = a.replace(/^--/, '').split('=');
      return [name!, rest.join('=')];
    }),
  );
}

describe('control-plane flags', () => {
  it.each([
    ['etcd', etcdArgs, 'listen-client-urls', 'http://127.0.0.1:1001'],
    ['etcd', etcdArgs, 'initial-cluster', 'prognos=http://127.0.0.1:1002'],
    ['etcd', etcdArgs, 'data-dir', '/s/etcd'],
    ['apiserver', apiServerArgs, 'etcd-servers', 'http://127.0.0.1:1001'],
    ['apiserver', apiServerArgs, 'secure-port', '1003'],
    ['apiserver', apiServerArgs, 'bind-address', '127.0.0.1'],
    ['apiserver', apiServerArgs, 'client-ca-file', '/s/pki/ca.crt'],
    ['apiserver', apiServerArgs, 'authorization-mode', 'Node,RBAC'],
    ['apiserver', apiServerArgs, 'service-account-key-file', '/s/pki/sa.pub'],
    ['apiserver', apiServerArgs, 'service-account-signing-key-file', '/s/pki/sa.key'],
    ['apiserver', apiServerArgs, 'service-cluster-ip-range', '10.0.0.0/16'],
    ['controller-manager', controllerManagerArgs, 'kubeconfig', '/s/kcm.kubeconfig'],
    ['controller-manager', controllerManagerArgs, 'secure-port', '1004'],
    ['controller-manager', controllerManagerArgs, 'root-ca-file', '/s/pki/ca.crt'],
    ['controller-manager', controllerManagerArgs, 'service-account-private-key-file', '/s/pki/sa.key'],
    ['controller-manager', controllerManagerArgs, 'use-service-account-credentials', 'true'],
    ['controller-manager', controllerManagerArgs, 'leader-elect', 'false'],
  ])('%s --%s', (_, build, name, value) => {
    expect(flags(build(layout)).get(name as string)).toBe(value);
  });

  it('enables the controllers the operator relies on and none that need a kubelet', () => {
    const enabled = flags(controllerManagerArgs(layout)).get('controllers')!.split(',');
    expect(enabled).toEqual(controllers);
    for (const c of [
      'deployment',
      'replicaset',
      'job',
      'garbagecollector',
      'endpointslice',
      'namespace',
      'serviceaccount-token',
    ]) {
      expect(enabled).toContain(c);
    }
    expect(enabled).not.toContain('*');
    expect(enabled).not.toContain('nodelifecycle');
  });

  it('serves the API on loopback over https', () => {
    expect(apiServerUrl(layout)).toBe('https://127.0.0.1:1003');
  });

  it('never repeats a flag', () => {
    for (const build of [etcdArgs, apiServerArgs, controllerManagerArgs]) {
      const args = build(layout);
      expect(flags(args).size).toBe(args.length);
    }
  });
});
