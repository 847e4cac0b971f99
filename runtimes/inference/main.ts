#!/usr/bin/env node
// prognos-inference --config runtime.yaml
//
// Runs one inference runtime until SIGTERM/SIGINT, then shuts down gracefully within
// PROGNOS_SHUTDOWN_GRACE_MS (default 25 s, under Kubernetes' default 30 s grace period).
// Env: POD_IP (bind gRPC and HTTP there instead of the configured host), LOG_LEVEL (pino level).
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { ConfigError, loadRuntimeConfig } from '../../contracts/runtimeConfig.ts';
import { startRuntime } from './runtime.ts';

const USAGE = 'usage: prognos-inference --config <runtime.yaml>';

async function main(): Promise<number> {
  const logger = pino({ level: process.env.LOG_LEVEL ?? 'info', base: { component: 'prognos-inference' } });
  let args;
  try {
    args = parseArgs({
      options: { config: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' } },
    });
  } catch (error) {
    console.error(`${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  if (args.values.help) {
    console.log(USAGE);
    return 0;
  }
  if (!args.values.config) {
    console.error(USAGE);
    return 2;
  }
  let config;
  try {
    config = await loadRuntimeConfig(args.values.config);
  } catch (error) {
    logger.fatal(
      { err: error, path: args.values.config },
      error instanceof ConfigError ? 'invalid config' : 'cannot read config',
    );
    return 2;
  }
  const graceMs = Number(process.env.PROGNOS_SHUTDOWN_GRACE_MS ?? 25_000);
  let runtime;
  try {
    runtime = await startRuntime(config, { logger, bindHost: process.env.POD_IP || undefined });
  } catch (error) {
    // E.g. a port already in use: fail fast and visibly, Kubernetes restarts the pod.
    logger.fatal({ err: error }, 'runtime failed to start');
    return 1;
  }

  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  logger.info({ signal, graceMs }, 'shutting down');
  // Exit even if something hangs: Kubernetes would SIGKILL anyway, and JetStream redelivers what was not acked.
  setTimeout(() => {
    logger.error('graceful shutdown exceeded the grace period; exiting');
    process.exit(1);
  }, graceMs).unref();
  await runtime.stop(graceMs);
  logger.info('stopped');
  return 0;
}

// Last-resort guard: bad input is handled where it arrives, so reaching here is a bug, but one
// that must not take the process (and its unacked batch) down silently.
process.on('unhandledRejection', (reason) => {
  console.error(JSON.stringify({ level: 50, msg: 'unhandled rejection', err: String(reason) }));
});

process.exitCode = await main();
