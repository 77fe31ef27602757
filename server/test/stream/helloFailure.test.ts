/**
 * A session that cannot start — a read failing before it goes live, or after, before its welcome —
 * closes its socket with a reconnect code instead of answering `internal` (a player waiting for its
 * welcome would learn nothing, and a live session refuses a second hello), and a reconnect starts
 * or resumes the session as usual.
 */
import t from 'tap';
import { CloseCode, isReconnectCloseCode } from '@titrate/shared';
import type { SessionStateEngine } from '../../src/state/engine.js';
import { TestClient } from '../support/client.js';
import { startTestServer } from '../support/server.js';

/** The engine as it is, except that calls of `failing.method` fail while it is set. */
function failingOnCue(failing: { method: keyof SessionStateEngine | null }) {
  return (engine: SessionStateEngine): SessionStateEngine =>
    new Proxy(engine, {
      get(target, key) {
        if (key === failing.method) return async () => Promise.reject(new Error('session state unavailable'));
        const value: unknown = Reflect.get(target, key, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
}

t.test('a hello that fails before or after the session goes live closes the socket for a reconnect, and the reconnect resumes the session', async (t) => {
  const failing: { method: keyof SessionStateEngine | null } = { method: null };
  const server = await startTestServer(t, 'memory', {}, { wrapEngine: failingOnCue(failing) });
  const token = await server.tokens.issue('demo', 600);

  const first = await TestClient.connect(server.url, token);
  const welcome = await first.hello();
  first.close();
  await first.closed;

  // countDay is read before the session goes live; getMix after it has.
  for (const method of ['countDay', 'getMix'] as const) {
    failing.method = method;
    const broken = await TestClient.connect(server.url, token);
    broken.send({ t: 'hello', v: 1, orientation: 'landscape', context: { genre: 'techno', mood: 'energetic', energy: 0.8 }, resume: welcome['session'] });
    const closed = await broken.closed;
    t.equal(closed.code, CloseCode.startFailed, `${method} failing: closed with ${CloseCode.startFailed}`);
    t.ok(isReconnectCloseCode(closed.code), 'a code the SDK reconnects on');
    t.same(broken.received, [], 'no welcome, and no error');
  }

  failing.method = null;
  const again = await TestClient.connect(server.url, token);
  t.teardown(() => again.close());
  const resumed = await again.hello({ resume: welcome['session'] });
  t.match(resumed, { t: 'welcome', session: welcome['session'], resumed: true });
  t.match(await again.next('after'), { t: 'frame', req: 'after' });
});
