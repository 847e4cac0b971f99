import { describe, expect, it } from 'vitest';
import { startHealthServer } from './healthServer.ts';
import { createMetrics } from './metrics.ts';

describe('health server', () => {
  it('serves /healthz, /readyz from the readiness check, and /metrics', async () => {
    let reason: string | undefined = 'informers not synced';
    const metrics = createMetrics();
    metrics.leaderStatus.set({ name: 'x' }, 1);
    const server = await startHealthServer({
      port: 0,
      host: '127.0.0.1',
      registry: metrics.registry,
      notReadyReason: () => reason,
    });
    const get = (path: string) => fetch(`http://127.0.0.1:${server.port}${path}`);
    try {
      expect((await get('/healthz')).status).toBe(200);
      const notReady = await get('/readyz');
      expect([notReady.status, await notReady.text()]).toEqual([503, 'informers not synced']);
      reason = undefined;
      expect((await get('/readyz')).status).toBe(200);
      expect(await (await get('/metrics')).text()).toContain('leader_election_master_status{name="x"} 1');
      expect((await get('/nope')).status).toBe(404);
    } finally {
      await server.close();
    }
  });
});
