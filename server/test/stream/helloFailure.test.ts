/**
 * A session that fails after going live, before its welcome: the socket closes with a reconnect
 * code instead of staying live without a welcome (a second hello on it would be refused), and a
 * reconnect starts or resumes the session as usual.
 */
import t from 'tap';
import { CloseCode, isReconnectCloseCode } from '@titrate/shared';
import type { SessionStateEngine } from '../../src/state/engine.js';
import { TestClient } from '../support/client.js';
import { startTestServer } from '../support/server.js';

/** The engine as it is, except that its mix reads fail while `failing.on`. */
function failingMixReads(failing: { on: boolean }) {
  return (engine: SessionStateEngine): SessionStateEngine =>
    new Proxy(engine, {
      get(target, key) {
        if (key === 'getMix' && failing.on) return async () => Promise.reject(new Error('session state unavailable'));
        const value: unknown = Reflect.get(target, key, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
}

t.test('a hello that fails once the session is live closes the socket for a reconnect, and the reconnect resumes the session', async (t) => {
  const failing = { on: false };
  const server = await startTestServer(t, 'memory', {}, { wrapEngine: failingMixReads(failing) });
  const token = await server.tokens.issue('demo', 600);

  const first = await TestClient.connect(server.url, token);
  const welcome = await first.hello();
  first.close();
  await first.closed;

  failing.on = true;
  const broken = await TestClient.connect(server.url, token);
  broken.send({ t: 'hello', v: 1, orientation: 'landscape', context: { genre: 'techno', mood: 'energetic', energy: 0.8 }, resume: welcome['session'] });
  const closed = await broken.closed;
  t.equal(closed.code, CloseCode.startFailed);
  t.ok(isReconnectCloseCode(closed.code), 'a code the SDK reconnects on');
  t.same(broken.received, [], 'no welcome, and no error to answer with a second hello');

  failing.on = false;
  const again = await TestClient.connect(server.url, token);
  t.teardown(() => again.close());
  const resumed = await again.hello({ resume: welcome['session'] });
  t.match(resumed, { t: 'welcome', session: welcome['session'], resumed: true });
  t.match(await again.next('after'), { t: 'frame', req: 'after' });
});
