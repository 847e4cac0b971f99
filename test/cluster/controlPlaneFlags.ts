import type { ClusterCerts } from './certs.ts';

/** Everything the control-plane command lines depend on, chosen before any process starts. */
export interface ControlPlaneLayout {
  stateDir: string;
  certs: ClusterCerts;
  etcdClientPort: number;
  etcdPeerPort: number;
  apiServerPort: number;
  controllerManagerPort: number;
  /** Kubeconfig the controller manager authenticates with (its own client certificate). */
  controllerManagerKubeconfig: string;
}

// A /16 (65,534 ClusterIPs), as real clusters have: a /24 runs out at 254 Services, and every
// MaintenanceModel owns one (the operator benchmark creates over 1,000).
export const serviceClusterIpRange = '10.0.0.0/16';
export const serviceAccountIssuer = 'https://kubernetes.default.svc.cluster.local';

/**
 * Controllers this project relies on. There is no kubelet and no scheduler (the pod runner binds
 * and runs pods), so node lifecycle, IPAM and volume controllers are left out.
 * root-ca-cert-publisher writes the kube-root-ca.crt ConfigMap that projected token volumes name;
 * resourcequota computes quota usage, without which a namespace with a ResourceQuota admits no pod.
 */
export const controllers = [
  'deployment',
  'replicaset',
  'job',
  'garbagecollector',
  'endpointslice',
  'namespace',
  'serviceaccount-token',
  'serviceaccount',
  'disruption',
  'statefulset',
  'cronjob',
  'ttl-after-finished',
  'root-ca-cert-publisher',
  'resourcequota',
];

export function etcdUrl(layout: ControlPlaneLayout): string {
  return `http://127.0.0.1:${layout.etcdClientPort}`;
}

export function apiServerUrl(layout: ControlPlaneLayout): string {
  return `https://127.0.0.1:${layout.apiServerPort}`;
}

export function etcdArgs(layout: ControlPlaneLayout): string[] {
  const peer = `http://127.0.0.1:${layout.etcdPeerPort}`;
  return [
    '--name=prognos',
    `--data-dir=${layout.stateDir}/etcd`,
    `--listen-client-urls=${etcdUrl(layout)}`,
    `--advertise-client-urls=${etcdUrl(layout)}`,
    `--listen-peer-urls=${peer}`,
    `--initial-advertise-peer-urls=${peer}`,
    `--initial-cluster=prognos=${peer}`,
    // A throwaway test store: durability across power loss is not worth the fsync latency.
    '--unsafe-no-fsync',
    '--log-level=warn',
  ];
}

export function apiServerArgs(layout: ControlPlaneLayout): string[] {
  const { certs } = layout;
  return [
    `--etcd-servers=${etcdUrl(layout)}`,
    '--bind-address=127.0.0.1',
    '--advertise-address=127.0.0.1',
    `--secure-port=${layout.apiServerPort}`,
    `--cert-dir=${layout.stateDir}/apiserver`,
    `--tls-cert-file=${certs.apiServerCert}`,
    `--tls-private-key-file=${certs.apiServerKey}`,
    `--client-ca-file=${certs.caCert}`,
    '--authorization-mode=Node,RBAC',
    `--service-account-issuer=${serviceAccountIssuer}`,
    `--service-account-key-file=${certs.serviceAccountPub}`,
    `--service-account-signing-key-file=${certs.serviceAccountKey}`,
    `--service-cluster-ip-range=${serviceClusterIpRange}`,
    '--allow-privileged=true',
    '--profiling=false',
    '--v=1',
  ];
}

export function controllerManagerArgs(layout: ControlPlaneLayout): string[] {
  const { certs } = layout;
  return [
    `--kubeconfig=${layout.controllerManagerKubeconfig}`,
    '--bind-address=127.0.0.1',
    // A free port, not the default 10257, so several clusters can run side by side.
    `--secure-port=${layout.controllerManagerPort}`,
    `--cert-dir=${layout.stateDir}/kube-controller-manager`,
    `--controllers=${controllers.join(',')}`,
    `--root-ca-file=${certs.caCert}`,
    `--service-account-private-key-file=${certs.serviceAccountKey}`,
    `--service-cluster-ip-range=${serviceClusterIpRange}`,
    '--use-service-account-credentials=true',
    '--leader-elect=false',
    '--v=1',
  ];
}
