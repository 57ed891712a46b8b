/**
 * A child process that holds systems set up for one workload and runs them when the harness asks,
 * so that the harness can interleave the systems' runs (load on the machine then slows them alike).
 * Usually one system per child, so that peak RSS belongs to one system and one scenario.
 */
import type { ChildMessage, ParentMessage } from './protocol.js';
import { SessionClock } from './session-clock.js';
import { createBanterSystem } from './systems/banter.js';
import { createFloorSystem } from './systems/floor.js';
import type { BenchSystem, SystemFactory } from './systems/system.js';
import { createTransformersJsSystem } from './systems/transformers-js.js';
import type { SystemName } from './types.js';

const FACTORIES: Record<SystemName, SystemFactory> = {
  banter: createBanterSystem,
  'transformers.js': createTransformersJsSystem,
  floor: createFloorSystem,
};

const clock = new SessionClock();
clock.install();
const systems = new Map<SystemName, BenchSystem>();

function reply(message: ChildMessage): Promise<void> {
  return new Promise((resolve, reject) => process.send!(message, (error: Error | null) => (error ? reject(error) : resolve())));
}

async function handle(message: ParentMessage): Promise<void> {
  switch (message.type) {
    case 'setup': {
      const created = await FACTORIES[message.system](message.modelDir, message.workload, message.threads, message.device);
      if ('unsupported' in created) return reply({ type: 'unsupported', reason: created.unsupported });
      systems.set(message.system, created);
      return reply({ type: 'ready' });
    }
    case 'run': {
      const system = systems.get(message.system);
      if (!system) throw new Error(`run of ${message.system} asked before its setup`);
      clock.reset();
      const start = performance.now();
      const tokens = await system.run(message.seed);
      const ms = performance.now() - start;
      return reply({ type: 'ran', ms, sessionRunMs: clock.milliseconds, sessionRunCalls: clock.calls, tokens });
    }
    case 'finish': {
      for (const system of systems.values()) await system.dispose();
      // maxRSS is in kilobytes.
      await reply({ type: 'finished', peakRssMb: process.resourceUsage().maxRSS / 1024 });
      process.exit(0);
    }
  }
}

process.on('message', (message: ParentMessage) => {
  handle(message).catch((error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : error);
    process.exit(1);
  });
});
