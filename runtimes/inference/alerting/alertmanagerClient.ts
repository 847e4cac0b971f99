// POST /api/v2/alerts over node:http(s). Credentials and the CA are files (mounted Secret keys),
// read per request so a rotated Secret applies without a restart; requests are rare (batched, and
// mostly once a refresh interval).
import { readFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { RuntimeConfig } from '../../../contracts/runtimeConfig.ts';
import type { PostableAlert } from './alertmanagerPayload.ts';

export type AlertmanagerConfig = NonNullable<RuntimeConfig['alerting']>['alertmanager'];

/** ok; or failed, and whether sending the same body again may succeed. */
export type PostOutcome = { ok: true } | { ok: false; retry: boolean; error: string };

export type PostAlerts = (alerts: PostableAlert[]) => Promise<PostOutcome>;

async function authorization(cfg: AlertmanagerConfig): Promise<string | undefined> {
  if (cfg.bearerTokenFile) return `Bearer ${(await readFile(cfg.bearerTokenFile, 'utf8')).trim()}`;
  if (cfg.basicAuth) {
    const [user, password] = await Promise.all([
      readFile(cfg.basicAuth.usernameFile, 'utf8'),
      readFile(cfg.basicAuth.passwordFile, 'utf8'),
    ]);
    return `Basic ${Buffer.from(`${user.trim()}:${password.trim()}`).toString('base64')}`;
  }
  return undefined;
}

export function alertmanagerClient(cfg: AlertmanagerConfig): PostAlerts {
  const url = new URL('api/v2/alerts', cfg.url.endsWith('/') ? cfg.url : `${cfg.url}/`);
  const https = url.protocol === 'https:';
  return async (alerts) => {
    let headers: Record<string, string>;
    let ca: string | undefined;
    try {
      const auth = await authorization(cfg);
      ca = https && cfg.caFile ? await readFile(cfg.caFile, 'utf8') : undefined;
      headers = { 'content-type': 'application/json', ...(auth ? { authorization: auth } : {}) };
    } catch (error) {
      // A Secret file not mounted yet (or being rotated): worth another try.
      return { ok: false, retry: true, error: `reading credentials: ${(error as Error).message}` };
    }
    const body = JSON.stringify(alerts);
    return new Promise<PostOutcome>((resolve) => {
      const send = https ? httpsRequest : httpRequest;
      const req = send(
        url,
        {
          method: 'POST',
          headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
          signal: AbortSignal.timeout(cfg.timeoutMs),
          ...(ca ? { ca } : {}),
        },
        (res) => {
          const status = res.statusCode ?? 0;
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            if (text.length < 512) text += chunk;
          });
          res.on('end', () => {
            if (status >= 200 && status < 300) return resolve({ ok: true });
            // 4xx is this body's fault (validation) and stays so, except a timeout or a rate limit.
            const retry =
              status >= 500 || status === 408 || status === 429 || status === 401 || status === 403;
            resolve({ ok: false, retry, error: `HTTP ${status}: ${text.trim().slice(0, 200)}` });
          });
          res.on('error', (error) => resolve({ ok: false, retry: true, error: error.message }));
        },
      );
      req.on('error', (error) => resolve({ ok: false, retry: true, error: error.message }));
      req.end(body);
    });
  };
}
