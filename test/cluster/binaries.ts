import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

export const repoRoot = new URL('../..', import.meta.url).pathname.replace(/\/$/, '');

export interface Binaries {
  dir: string;
  etcd: string;
  kubeApiserver: string;
  kubeControllerManager: string;
  kubectl: string;
  natsServer: string;
  helm: string;
  grpcurl: string;
}

/** Ensures the control-plane binaries, nats-server and the test clients (helm, grpcurl) exist (building them once into the cache) and returns their paths. */
export async function ensureBinaries(): Promise<Binaries> {
  const { stdout } = await promisify(execFile)('bash', [join(repoRoot, 'test/cluster/build-binaries.sh')], {
    maxBuffer: 16 * 1024 * 1024,
  }).catch((err: Error & { stderr?: string }) => {
    throw new Error(`building control-plane binaries failed: ${err.message}\n${err.stderr ?? ''}`);
  });
  const dir = stdout.trim().split('\n').pop()!;
  const bin = (name: string): string => {
    const p = join(dir, name);
    if (!existsSync(p)) throw new Error(`${name} missing from ${dir}`);
    return p;
  };
  return {
    dir,
    etcd: bin('etcd'),
    kubeApiserver: bin('kube-apiserver'),
    kubeControllerManager: bin('kube-controller-manager'),
    kubectl: bin('kubectl'),
    natsServer: bin('nats-server'),
    helm: bin('helm'),
    grpcurl: bin('grpcurl'),
  };
}
