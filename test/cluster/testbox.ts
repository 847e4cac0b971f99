/**
 * The test image `prognos.dev/testbox:<tag>`: a tiny program the pod runner can run in place of a
 * container, for tests of the cluster machinery itself.
 *   serve --port N [--ready-after-ms M]   HTTP on $POD_IP (else 0.0.0.0): /healthz, /readyz (503 until
 *                                         M ms passed), /env (JSON of the process env), /pid,
 *                                         /file?path=P (content of P as the container sees it); else 404
 *   run --exit-code N [--after-ms M] [--termination-message T]
 *                                         exits with code N after M ms, having written T to its
 *                                         termination message file ($PROGNOS_TERMINATION_MESSAGE_PATH)
 * It logs to stdout and exits 0 on SIGTERM.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';

const [command, ...rest] = process.argv.slice(2);
const { values } = parseArgs({
  args: rest,
  options: {
    port: { type: 'string' },
    'ready-after-ms': { type: 'string', default: '0' },
    'exit-code': { type: 'string', default: '0' },
    'after-ms': { type: 'string', default: '0' },
    'termination-message': { type: 'string' },
  },
});

const log = (msg: string): void => {
  process.stdout.write(`${new Date().toISOString()} testbox[${process.pid}] ${msg}\n`);
};

process.on('SIGTERM', () => {
  log('SIGTERM received, exiting');
  process.exit(0);
});

if (command === 'serve') {
  const port = Number(values.port ?? '8080');
  const host = process.env['POD_IP'] || '0.0.0.0';
  const readyAt = Date.now() + Number(values['ready-after-ms']);
  const server = createServer((req, res) => {
    const reply = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const url = new URL(req.url ?? '/', 'http://testbox');
    if (url.pathname === '/file') {
      // Reads a file by the path the container sees (volumes are reachable through the fs shim).
      try {
        return reply(200, { content: readFileSync(url.searchParams.get('path') ?? '', 'utf8') });
      } catch (err) {
        return reply(404, { error: (err as Error).message });
      }
    }
    switch (url.pathname) {
      case '/healthz':
        return reply(200, { ok: true });
      case '/readyz':
        return Date.now() >= readyAt ? reply(200, { ready: true }) : reply(503, { ready: false });
      case '/env':
        return reply(200, process.env);
      case '/pid':
        return reply(200, { pid: process.pid });
      default:
        return reply(404, { error: `no route ${req.url}` });
    }
  });
  server.listen(port, host, () => log(`serving on ${host}:${port}`));
} else if (command === 'run') {
  const code = Number(values['exit-code']);
  log(`running; exiting with ${code} after ${values['after-ms']} ms`);
  setTimeout(() => {
    const message = values['termination-message'];
    if (message !== undefined) writeFileSync(process.env['PROGNOS_TERMINATION_MESSAGE_PATH']!, message);
    log(`exiting with ${code}`);
    process.exit(code);
  }, Number(values['after-ms']));
} else {
  log(`unknown command "${command ?? ''}"; use serve or run`);
  process.exit(2);
}
