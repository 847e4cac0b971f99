import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Paths of every key and certificate the local control plane uses (all PEM). */
export interface ClusterCerts {
  dir: string;
  caCert: string;
  caKey: string;
  apiServerCert: string;
  apiServerKey: string;
  adminCert: string;
  adminKey: string;
  controllerManagerCert: string;
  controllerManagerKey: string;
  serviceAccountKey: string;
  serviceAccountPub: string;
}

/** A certificate signed by the cluster CA: its subject and the extensions that say what it may do. */
export interface LeafSpec {
  name: string;
  commonName: string;
  organization?: string;
  usage: 'server' | 'client';
  dnsNames?: string[];
  ips?: string[];
}

/** DNS names and IPs clients (including pods that use in-cluster config) reach the API server by. */
export const apiServerSans = {
  dnsNames: [
    'localhost',
    'kubernetes',
    'kubernetes.default',
    'kubernetes.default.svc',
    'kubernetes.default.svc.cluster.local',
  ],
  ips: ['127.0.0.1', '10.0.0.1'],
};

export const leafSpecs: readonly LeafSpec[] = [
  { name: 'apiserver', commonName: 'kube-apiserver', usage: 'server', ...apiServerSans },
  { name: 'admin', commonName: 'prognos-admin', organization: 'system:masters', usage: 'client' },
  // The bootstrap RBAC policy grants this exact user name the controller manager's permissions.
  { name: 'kube-controller-manager', commonName: 'system:kube-controller-manager', usage: 'client' },
];

/** The `-subj` argument openssl takes for a subject. */
export function subjectOf(spec: Pick<LeafSpec, 'commonName' | 'organization'>): string {
  return (spec.organization ? `/O=${spec.organization}` : '') + `/CN=${spec.commonName}`;
}

/** The x509v3 extension file content for a leaf certificate. */
export function extensionsOf(spec: LeafSpec): string {
  const lines = [
    'basicConstraints=critical,CA:FALSE',
    'keyUsage=critical,digitalSignature,keyEncipherment',
    `extendedKeyUsage=${spec.usage === 'server' ? 'serverAuth' : 'clientAuth'}`,
  ];
  const sans = [...(spec.dnsNames ?? []).map((d) => `DNS:${d}`), ...(spec.ips ?? []).map((ip) => `IP:${ip}`)];
  if (sans.length > 0) lines.push(`subjectAltName=${sans.join(',')}`);
  return lines.join('\n') + '\n';
}

/**
 * Ensures a CA, the API server's serving certificate, the admin and controller-manager client
 * certificates and the service-account signing key pair exist in `dir`, generating only what is
 * missing with the openssl CLI (a new CA re-issues every leaf, so the set always fits together).
 */
export async function ensureCerts(dir: string): Promise<ClusterCerts> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const p = (f: string): string => join(dir, f);
  const certs: ClusterCerts = {
    dir,
    caCert: p('ca.crt'),
    caKey: p('ca.key'),
    apiServerCert: p('apiserver.crt'),
    apiServerKey: p('apiserver.key'),
    adminCert: p('admin.crt'),
    adminKey: p('admin.key'),
    controllerManagerCert: p('kube-controller-manager.crt'),
    controllerManagerKey: p('kube-controller-manager.key'),
    serviceAccountKey: p('sa.key'),
    serviceAccountPub: p('sa.pub'),
  };
  const newCa = !existsSync(certs.caCert) || !existsSync(certs.caKey);
  if (newCa) {
    await openssl([
      'req',
      '-x509',
      ...ecKeyArgs(),
      '-keyout',
      certs.caKey,
      '-out',
      certs.caCert,
      '-days',
      '3650',
      '-subj',
      '/CN=prognos-local-ca',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign,digitalSignature',
    ]);
  }
  const pending = leafSpecs
    .filter((s) => newCa || !existsSync(p(`${s.name}.crt`)) || !existsSync(p(`${s.name}.key`)))
    .map((s) => issueLeaf(dir, s, certs));
  if (!existsSync(certs.serviceAccountKey) || !existsSync(certs.serviceAccountPub)) {
    // RSA: every token consumer supports RS256; ECDSA keys for service accounts are less common.
    pending.push(
      openssl([
        'genpkey',
        '-algorithm',
        'RSA',
        '-pkeyopt',
        'rsa_keygen_bits:2048',
        '-out',
        certs.serviceAccountKey,
      ]).then(() =>
        openssl(['pkey', '-in', certs.serviceAccountKey, '-pubout', '-out', certs.serviceAccountPub]),
      ),
    );
  }
  await Promise.all(pending);
  return certs;
}

function ecKeyArgs(): string[] {
  return ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
}

async function issueLeaf(dir: string, spec: LeafSpec, certs: ClusterCerts): Promise<void> {
  const key = join(dir, `${spec.name}.key`);
  const csr = join(dir, `${spec.name}.csr`);
  const ext = join(dir, `${spec.name}.ext`);
  writeFileSync(ext, extensionsOf(spec));
  try {
    await openssl(['req', '-new', ...ecKeyArgs(), '-keyout', key, '-out', csr, '-subj', subjectOf(spec)]);
    await openssl([
      'x509',
      '-req',
      '-in',
      csr,
      '-CA',
      certs.caCert,
      '-CAkey',
      certs.caKey,
      '-set_serial',
      `0x${randomSerial()}`,
      '-days',
      '3650',
      '-extfile',
      ext,
      '-out',
      join(dir, `${spec.name}.crt`),
    ]);
  } finally {
    rmSync(csr, { force: true });
    rmSync(ext, { force: true });
  }
}

function randomSerial(): string {
  return crypto
    .getRandomValues(new Uint8Array(16))
    .reduce((s, b) => s + b.toString(16).padStart(2, '0'), '7');
}

async function openssl(args: string[]): Promise<void> {
  await run('openssl', args).catch((err: Error & { stderr?: string }) => {
    throw new Error(`openssl ${args[0]} failed: ${err.stderr?.trim() || err.message}`);
  });
}
