/**
 * A bus consumer in a child process, for the crash tests in bus.test.ts: it records every handled event
 * in a Redis list and hangs forever on the event named by HANG_ON, so the test can SIGKILL it mid-handler.
 */
import { createBus } from '../../core/bus';
import { parseConfig } from '../../core/config/load';
import { connectConfiguredRedis } from '../../core/state';

const { BUS_CONFIG, KEY_PREFIX, HANG_ON } = process.env;
if (!BUS_CONFIG || !KEY_PREFIX || !HANG_ON)
  throw new Error('BUS_CONFIG, KEY_PREFIX and HANG_ON are required');

const config = parseConfig(JSON.parse(BUS_CONFIG));
// One server or a cluster, as the config says.
const log = await connectConfiguredRedis(config.redis, 'crash test log');
const bus = await createBus(config, { keyPrefix: KEY_PREFIX });
await bus.consume(async (event, ctx) => {
  if (event.id === HANG_ON) {
    process.stdout.write(`HANG ${event.id}\n`);
    await new Promise(() => {});
  }
  await log.rpush(
    `${KEY_PREFIX}:handled`,
    JSON.stringify({ id: event.id, attempt: ctx.attempt, by: 'child' }),
  );
});
process.stdout.write('READY\n');
