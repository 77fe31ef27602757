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

type Seen = { engine?: SessionStateEngine; day?: { accountId: string; dayKey: string }; held?: Promise<void>; reached?: () => void };

/** The engine as it is, except that calls of `failing.method` fail while it is set; `seen` gets the engine and the day counted in. */
function failingOnCue(failing: { method: keyof SessionStateEngine | null }, seen: Seen = {}) {
  return (engine: SessionStateEngine): SessionStateEngine => {
    seen.engine = engine;
    return new Proxy(engine, {
      get(target, key) {
        if (key === failing.method) return async () => Promise.reject(new Error('session state unavailable'));
        if (key === 'getMix' && seen.held !== undefined) {
          // Held until the test lets it go, telling the test once it is waiting.
          return async (...args: Parameters<SessionStateEngine['getMix']>) => {
            seen.reached?.();
            await seen.held;
            return target.getMix(...args);
          };
        }
        if (key === 'countDay') {
          return async (...args: Parameters<SessionStateEngine['countDay']>) => {
            seen.day ??= { accountId: args[0], dayKey: args[1] };
            return target.countDay(...args);
          };
        }
        const value: unknown = Reflect.get(target, key, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
  };
}

t.test('a hello that fails before or after the session goes live closes the socket for a reconnect, and the reconnect resumes the session', async (t) => {
  const failing: { method: keyof SessionStateEngine | null } = { method: null };
  const server = await startTestServer(t, 'memory', {}, { wrapEngine: failingOnCue(failing) });
  const token = await server.tokens.issue('demo', 600);

  const first = await TestClient.connect(server.url, token);
  const welcome = await first.hello();
  first.close();
  await first.closed;

  // putSession is called before the session goes live; getMix after it has.
  for (const method of ['putSession', 'getMix'] as const) {
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

t.test("a session counts into its user's day once, after its welcome: not when its start fails, not when it resumes, and a count that fails leaves it playing", async (t) => {
  const failing: { method: keyof SessionStateEngine | null } = { method: null };
  const seen: Seen = {};
  const server = await startTestServer(t, 'memory', {}, { wrapEngine: failingOnCue(failing, seen) });
  const token = await server.tokens.issue('demo', 600);
  const hello = { t: 'hello', v: 1, orientation: 'landscape', context: { genre: 'techno', mood: 'energetic', energy: 0.8 } } as const;
  // The day the first session was counted into (a day read later could be the next one).
  const sessionsToday = async () => (await seen.engine!.getDays(seen.day!.accountId, [seen.day!.dayKey]))[0]!.sessions;

  const first = await TestClient.connect(server.url, token);
  const welcome = await first.hello();
  t.equal(await sessionsToday(), 1, 'a new session is counted');
  first.close();
  await first.closed;

  const resuming = await TestClient.connect(server.url, token);
  t.match(await resuming.hello({ resume: welcome['session'] }), { resumed: true });
  t.equal(await sessionsToday(), 1, 'a resumed session is not counted again');
  resuming.close();
  await resuming.closed;

  failing.method = 'getMix';
  const broken = await TestClient.connect(server.url, token);
  broken.send(hello);
  t.equal((await broken.closed).code, CloseCode.startFailed);
  t.equal(await sessionsToday(), 1, 'a start that failed before its welcome is not counted');

  failing.method = null;
  const reconnected = await TestClient.connect(server.url, token);
  t.match(await reconnected.hello(), { t: 'welcome', resumed: false });
  t.equal(await sessionsToday(), 2, 'its reconnect is');
  reconnected.close();
  await reconnected.closed;

  failing.method = 'countDay';
  const uncounted = await TestClient.connect(server.url, token);
  t.teardown(() => uncounted.close());
  t.match(await uncounted.hello(), { t: 'welcome', resumed: false });
  failing.method = null;
  t.match(await uncounted.next('after'), { t: 'frame', req: 'after' }, 'a session whose count failed plays on');
  t.equal(await sessionsToday(), 2, 'and is not counted');
});

t.test('a socket that closes while its session starts gets no welcome, and the session is not counted into the day', async (t) => {
  const seen: Seen = {};
  const server = await startTestServer(t, 'memory', {}, { wrapEngine: failingOnCue({ method: null }, seen) });
  const token = await server.tokens.issue('demo', 600);
  const sessionsToday = async () => (await seen.engine!.getDays(seen.day!.accountId, [seen.day!.dayKey]))[0]!.sessions;

  const counted = await TestClient.connect(server.url, token);
  await counted.hello();
  t.equal(await sessionsToday(), 1);

  let release = () => {};
  seen.held = new Promise((resolve) => (release = resolve));
  const reached = new Promise<void>((resolve) => (seen.reached = resolve));
  const leaving = await TestClient.connect(server.url, token);
  leaving.send({ t: 'hello', v: 1, orientation: 'landscape', context: { genre: 'techno', mood: 'energetic', energy: 0.8 } });
  await reached;
  leaving.close();
  await leaving.closed;
  // The server has seen the close once it counts one connection, the first client's.
  const connections = async () => Number(/^titrate_connections (\d+)/m.exec(await (await fetch(`${server.url}/metrics`)).text())?.[1]);
  let open = await connections();
  for (let tries = 0; open !== 1 && tries < 500; tries += 1) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    open = await connections();
  }
  t.equal(open, 1, 'the server saw the close while the start was held');
  release();
  seen.held = undefined;

  const after = await TestClient.connect(server.url, token);
  t.teardown(() => after.close());
  t.match(await after.hello(), { t: 'welcome' });
  t.equal(await sessionsToday(), 2, 'the first session and this one, not the one that left before its welcome');
  t.same(leaving.received, [], 'the socket that left got nothing');
  counted.close();
});
