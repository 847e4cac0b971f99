// Fleet simulator: replays C-MAPSS engines (synthetic ones when the dataset is absent) as readings on
// <prefix>.<engine>.readings, a few engines at a time, each restarting its life when it fails.
// Usage: scripts/node24 test/cluster/demo/simulator.ts --nats nats://127.0.0.1:4222 [--prefix demo.turbofan] [--rate 20] [--engines 8]
import { parseArgs } from 'node:util';
import { connect } from '@nats-io/transport-node';
import { DEMO_SENSORS, loadCmapss, syntheticCycles, type Cycle } from './cmapss.ts';

const { values } = parseArgs({
  options: {
    nats: { type: 'string', default: 'nats://127.0.0.1:4222' },
    prefix: { type: 'string', default: 'demo.turbofan' },
    rate: { type: 'string', default: '20' },
    engines: { type: 'string', default: '8' },
  },
});
const rate = Math.max(1, Number(values.rate));
const active = Math.max(1, Number(values.engines));

const real = loadCmapss();
const cycles = real ?? syntheticCycles(active * 2);
const byEngine = new Map<number, Cycle[]>();
for (const c of cycles) byEngine.set(c.engine, [...(byEngine.get(c.engine) ?? []), c]);
const engines = [...byEngine.keys()].slice(0, active);
const position = new Map(engines.map((e) => [e, 0]));

const nc = await connect({ servers: values.nats, name: 'prognos-demo-simulator', maxReconnectAttempts: -1 });
console.log(
  `simulating ${engines.length} engines from ${real ? 'C-MAPSS FD001' : 'synthetic data'} at ${rate} readings/s on ${values.prefix}.<engine>.readings`,
);

let sent = 0;
let turn = 0;
const timer = setInterval(() => {
  const engine = engines[turn++ % engines.length]!;
  const life = byEngine.get(engine)!;
  const i = position.get(engine)!;
  const cycle = life[i]!;
  position.set(engine, (i + 1) % life.length);
  const reading: Record<string, number | string> = { ts: Date.now(), cycle: cycle.cycle };
  DEMO_SENSORS.forEach((s, j) => (reading[s.name] = cycle.values[j]!));
  nc.publish(`${values.prefix}.engine-${engine}.readings`, JSON.stringify(reading));
  if (++sent % (rate * 30) === 0) console.log(`${sent} readings published`);
}, 1000 / rate);

const stop = () => {
  clearInterval(timer);
  void nc.drain().then(() => process.exit(0));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
