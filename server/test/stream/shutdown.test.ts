/** A stop answers what its players already asked, then tells them to reconnect. */
import t from 'tap';
import { CloseCode } from '@titrate/shared';
import type { SessionStateEngine } from '../../src/state/engine.js';
import { TestClient } from '../support/client.js';
import { admin, createUser, until } from '../support/fresh.js';
import { startTestServer } from '../support/server.js';

/** The engine as it is, except that each `getDecision` waits for `gate` while it is set; `reached` counts those that waited. */
function holdingDecisions(hold: { gate: Promise<void> | null; reached: number }) {
  return (engine: SessionStateEngine): SessionStateEngine =>
    new Proxy(engine, {
      get(target, key) {
        if (key === 'getDecision') {
          return async (...args: Parameters<SessionStateEngine['getDecision']>) => {
            if (hold.gate !== null) {
              hold.reached += 1;
              await hold.gate;
            }
            return target.getDecision(...args);
          };
        }
        const value: unknown = Reflect.get(target, key, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
}

t.test('a stop answers every next already read, in order, before its 4000 close', async (t) => {
  let release!: () => void;
  const hold = { gate: new Promise<void>((resolve) => (release = resolve)) as Promise<void> | null, reached: 0 };
  const server = await startTestServer(t, 'memory', {}, { wrapEngine: holdingDecisions(hold) });
  await admin(server, 'PUT', '/v1/admin/tiers/library-only', { baseQuota: 0 });
  const players = ['first', 'second', 'third'];
  const clients: TestClient[] = [];
  for (const user of players) {
    await createUser(server, user, 'library-only');
    const client = await TestClient.connect(server.url, await server.tokens.issue(user, 600));
    t.teardown(() => client.close());
    await client.hello();
    clients.push(client);
  }
  const asked = ['n1', 'n2', 'n3', 'n4', 'n5'];
  for (const client of clients) for (const id of asked) client.send({ t: 'next', id });
  // Each connection's first next waits in the engine, the rest behind it in the connection's turn.
  await until(async () => hold.reached === players.length);
  await new Promise((resolve) => setTimeout(resolve, 100));
  const stopped = server.stop();
  setTimeout(() => {
    hold.gate = null;
    release();
  }, 100);
  await stopped;
  for (const [index, client] of clients.entries()) {
    t.equal((await client.closed).code, CloseCode.serverRestarting, `${players[index]} is told to reconnect`);
    const answers = client.received.filter((message) => message.t === 'frame' || message.t === 'error').map((message) => message['req']);
    t.same(answers, asked, `${players[index]}: every next answered, in order, before the close`);
  }
});
