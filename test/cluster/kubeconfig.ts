import { stringify } from 'yaml';

export interface KubeconfigInput {
  /** Name used for the cluster, user and context entries. */
  name: string;
  server: string;
  caPem: string;
  clientCertPem: string;
  clientKeyPem: string;
}

const b64 = (pem: string): string => Buffer.from(pem).toString('base64');

/**
 * Renders a kubeconfig with the certificates embedded, so the file works from any directory and can
 * be handed to processes that do not see the state dir's pki files.
 */
export function renderKubeconfig(input: KubeconfigInput): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      { name: input.name, cluster: { server: input.server, 'certificate-authority-data': b64(input.caPem) } },
    ],
    users: [
      {
        name: input.name,
        user: {
          'client-certificate-data': b64(input.clientCertPem),
          'client-key-data': b64(input.clientKeyPem),
        },
      },
    ],
    contexts: [
      { name: input.name, context: { cluster: input.name, user: input.name, namespace: 'default' } },
    ],
    'current-context': input.name,
    preferences: {},
  });
}
