import t from 'tap';
import { RedisEngine } from '../../src/state/redis.js';
import { testRedisUrl, uniquePrefix } from '../support/services.js';
import { engineContract } from './engineContract.js';

engineContract(t, async (t) => {
  const engine = new RedisEngine(testRedisUrl(), { keyPrefix: uniquePrefix('engine') });
  t.teardown(() => engine.close());
  return engine;
});

t.test('an unreachable Redis fails commands instead of hanging', async (t) => {
  const engine = new RedisEngine('redis://127.0.0.1:1', { keyPrefix: uniquePrefix('down') });
  t.teardown(() => engine.close());
  await t.rejects(engine.ping());
});
