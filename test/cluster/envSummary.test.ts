import { describe, expect, it } from 'vitest';
import { envSummary } from './envSummary.ts';

const info = {
  kubeconfig: '/r/.prognos-env/kubeconfig',
  natsUrl: 'nats://127.0.0.1:4222',
  apiServerUrl: 'https://127.0.0.1:6443',
  kubectl: '/bin/k/kubectl',
  binDir: '/bin/k',
  stateDir: '/r/.prognos-env',
  controlUrl: 'http://127.0.0.1:1',
};

describe('envSummary', () => {
  it.each([
    [1234, 'ready in 1.2 s'],
    [undefined, 'Prognos environment is up.'],
  ])('reports the start time %s', (ms, text) => {
    expect(envSummary(info, ms)).toContain(text);
  });

  it('tells how to point kubectl at the cluster', () => {
    const s = envSummary(info, 1);
    expect(s).toContain('export KUBECONFIG=/r/.prognos-env/kubeconfig');
    expect(s).toContain('export PATH=/bin/k:$PATH');
    expect(s).toContain('nats://127.0.0.1:4222');
  });
});
