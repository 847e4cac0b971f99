import type { EnvironmentInfo } from './environment.ts';

/** What `env:up` prints: where everything is and how to use it. */
export function envSummary(info: EnvironmentInfo, elapsedMs: number | undefined): string {
  return [
    elapsedMs === undefined
      ? 'Prognos environment is up.'
      : `Prognos environment is up (ready in ${(elapsedMs / 1000).toFixed(1)} s).`,
    `  API server   ${info.apiServerUrl}`,
    `  kubeconfig   ${info.kubeconfig}`,
    `  NATS         ${info.natsUrl}`,
    `  logs         ${info.stateDir}/logs/`,
    '',
    'Use kubectl (the one built for this cluster):',
    `  export KUBECONFIG=${info.kubeconfig}`,
    `  export PATH=${info.binDir}:$PATH`,
    '  kubectl get pods -A',
    '',
    'Stop it with: npm run env:down',
  ].join('\n');
}
