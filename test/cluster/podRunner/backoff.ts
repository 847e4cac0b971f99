/**
 * CrashLoopBackOff delay before the n-th restart (n = 0 for the first). Kubernetes' reduced decay
 * (KEP-4603): 1 s doubling up to 60 s, rather than the classic 10 s..300 s, so a test cluster
 * recovers from a dependency that came up late within seconds, not minutes.
 */
export function crashLoopDelayMs(restartIndex: number): number {
  return Math.min(1000 * 2 ** Math.max(0, restartIndex), 60_000);
}

/** A container that ran this long without crashing starts its backoff from scratch again. */
export const backoffResetAfterMs = 10 * 60_000;

/** What happens after a container exits, per the pod's restartPolicy. */
export function shouldRestart(restartPolicy: string | undefined, exitCode: number): boolean {
  switch (restartPolicy ?? 'Always') {
    case 'Never':
      return false;
    case 'OnFailure':
      return exitCode !== 0;
    default:
      return true;
  }
}
