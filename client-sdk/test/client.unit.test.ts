/**
 * The client's decisions with an in-memory socket and a manual clock: every delay and timeout is
 * checked exactly, without a network.
 */
import t, { type Test } from 'tap';
import { TitrateClient } from '../src/client.js';
import type { FetchFunction } from '../src/platform.js';
import type { ClientOptions, StateChange } from '../src/types.js';
import { ManualClock, settle } from './support/clock.js';
import { memorySockets, type MemorySocket } from './support/memorySocket.js';
import { context, frame, welcome } from './support/messages.js';

type Setup = {
  client: TitrateClient;
  clock: ManualClock;
  sockets: MemorySocket[];
  states: StateChange[];
  authChecks: string[];
  /** The status `GET /v1/auth/check` answers, by token (default 200). */
  authStatus: Map<string, number>;
};

function setup(t: Test, options: Partial<ClientOptions> = {}): Setup {
  const clock = new ManualClock();
  const { WebSocket, sockets } = memorySockets();
  const authChecks: string[] = [];
  const authStatus = new Map<string, number>();
  const fetch: FetchFunction = async (url, init) => {
    const token = (init?.headers?.['authorization'] ?? '').replace('Bearer ', '');
    if (url.endsWith('/v1/auth/check')) authChecks.push(token);
    const status = authStatus.get(token) ?? 200;
    return { status, ok: status === 200, json: async () => ({}), arrayBuffer: async () => new ArrayBuffer(8) };
  };
  const client = new TitrateClient({
    url: 'ws://server.test/v1/stream', token: 'good', orientation: 'landscape', context, encoding: 'json', WebSocket, fetch,
    now: clock.now, random: () => 0.5, setTimeout: clock.setTimeout, clearTimeout: clock.clearTimeout,
    reconnect: { baseMs: 100, maxMs: 1_000, attemptsMax: 5 }, ...options,
  });
  const states: StateChange[] = [];
  client.on('state', (change) => states.push(change));
  // Not awaited: a close waiting for a beacon ack would wait on the manual clock.
  t.teardown(() => void client.close());
  return { client, clock, sockets, states, authChecks, authStatus };
}

async function live(socket: MemorySocket, session = 's1', resumed = false): Promise<void> {
  socket.open();
  socket.receive(welcome(session, resumed));
  await settle();
}

const last = <T>(items: T[]): T => items[items.length - 1]!;

t.test('connects with the token in the query and says hello with orientation, context and device', async (t) => {
  const { client, sockets } = setup(t, { device: 'living-room tv' });
  const welcomed = client.connect();
  await settle();
  t.equal(sockets.length, 1);
  t.equal(sockets[0]!.token, 'good');
  await live(sockets[0]!);
  t.match(await welcomed, { session: 's1' });
  t.same(sockets[0]!.sent[0], { t: 'hello', v: 1, orientation: 'landscape', context, device: 'living-room tv' });
  t.equal(client.state, 'live');
});

t.test('reconnect delays are full-jitter draws under a doubling ceiling, capped at maxMs', async (t) => {
  const { client, clock, sockets } = setup(t);
  client.connect().catch(() => undefined);
  await settle();
  await live(sockets[0]!);
  sockets[0]!.serverClose(4000, 'server restarting');
  // random() is 0.5: waits are 0.5 × min(1000, 100 × 2^failures) = 50, 100, 200, 400, 500.
  for (const [index, delayMs] of [50, 100, 200, 400].entries()) {
    await clock.advance(delayMs - 1);
    t.equal(sockets.length, index + 1, `no attempt before ${delayMs} ms`);
    await clock.advance(1);
    t.equal(sockets.length, index + 2, `attempt ${index + 1} after ${delayMs} ms`);
    last(sockets).fail();
    await settle();
  }
  t.equal(client.state, 'reconnecting');
});

t.test('after attemptsMax failed attempts the client closes with a reason', async (t) => {
  const { client, clock, sockets, states } = setup(t);
  const welcomed = client.connect();
  welcomed.catch(() => undefined);
  await settle();
  for (let attempt = 0; attempt < 5; attempt += 1) {
    last(sockets).fail();
    await settle();
    await clock.advance(1_000);
  }
  t.equal(sockets.length, 5);
  t.equal(client.state, 'closed');
  t.match(last(states), { state: 'closed', reason: /gave up after 5 failed attempts/ });
  await t.rejects(welcomed, { code: 'closed' });
  await t.rejects(client.next(), { code: 'closed' });
});

t.test('a refused token is refreshed once; refused again, the client is unauthorized and stops trying', async (t) => {
  const refreshed: string[] = [];
  const { client, clock, sockets, authStatus, authChecks } = setup(t, { token: 'old', refreshToken: async () => (refreshed.push('new'), 'new') });
  authStatus.set('old', 401);
  authStatus.set('new', 403);
  client.connect().catch(() => undefined);
  await settle();
  sockets[0]!.fail();
  await settle();
  t.same(refreshed, ['new']);
  t.equal(sockets[1]!.token, 'new');
  sockets[1]!.fail();
  await settle();
  t.same(authChecks, ['old', 'new']);
  t.equal(client.state, 'unauthorized');
  await clock.advance(600_000);
  t.equal(sockets.length, 2, 'no attempt after unauthorized');
  t.same(refreshed, ['new'], 'refreshed once only');
});

t.test('a socket failure with an accepted token is a network failure: back off and retry', async (t) => {
  const { client, clock, sockets, authChecks } = setup(t);
  client.connect().catch(() => undefined);
  await settle();
  sockets[0]!.fail();
  await settle();
  t.same(authChecks, ['good']);
  t.equal(client.state, 'reconnecting');
  await clock.advance(100);
  t.equal(sockets.length, 2);
});

t.test('a policy close (unknown user) ends in unauthorized; an oversized message ends in closed', async (t) => {
  const first = setup(t);
  first.client.connect().catch(() => undefined);
  await settle();
  await live(first.sockets[0]!);
  first.sockets[0]!.serverClose(1008, 'unknown user');
  t.equal(first.client.state, 'unauthorized');
  const second = setup(t);
  second.client.connect().catch(() => undefined);
  await settle();
  await live(second.sockets[0]!);
  second.sockets[0]!.serverClose(1009, 'message too big');
  t.equal(second.client.state, 'closed');
  await second.clock.advance(60_000);
  t.equal(second.sockets.length, 1);
});

t.test('a 4001 close refreshes the token before reconnecting with resume', async (t) => {
  const { client, clock, sockets } = setup(t, { token: 'first', refreshToken: async () => 'second' });
  client.connect().catch(() => undefined);
  await settle();
  await live(sockets[0]!, 'session-a');
  sockets[0]!.serverClose(4001, 'token expired');
  await settle();
  await clock.advance(1_000);
  t.equal(sockets[1]!.token, 'second');
  sockets[1]!.open();
  t.match(sockets[1]!.sent[0], { t: 'hello', resume: 'session-a' });
});

t.test('a request that gets no answer at all means a dead socket: reconnect and send it again with its id', async (t) => {
  const { client, clock, sockets } = setup(t, { prefetch: 0 });
  const next = client.next();
  await settle();
  await live(sockets[0]!);
  const [request] = sockets[0]!.sentOfType('next');
  await clock.advance(19_999);
  t.equal(sockets.length, 1);
  await clock.advance(1);
  t.equal(client.state, 'reconnecting');
  await clock.advance(1_000);
  await live(sockets[1]!);
  t.same(sockets[1]!.sentOfType('next').map((message) => message['id']), [request!['id']]);
  sockets[1]!.receive(frame(String(request!['id'])));
  t.equal((await next).req, request!['id']);
});

t.test('pending keeps next() waiting until the fresh frame arrives, with no timeout', async (t) => {
  const { client, clock, sockets } = setup(t, { prefetch: 0 });
  const pending: number[] = [];
  client.on('pending', (message) => pending.push(message.etaMs));
  let resolved = false;
  const next = client.next().then((value) => ((resolved = true), value));
  await settle();
  await live(sockets[0]!);
  const id = String(sockets[0]!.sentOfType('next')[0]!['id']);
  sockets[0]!.receive({ t: 'pending', req: id, etaMs: 45_000 });
  await clock.advance(40_000);
  t.equal(resolved, false);
  t.equal(client.state, 'live', 'a pending request is not overdue');
  sockets[0]!.receive(frame(id, { source: 'fresh', charged: 2 }));
  t.match(await next, { source: 'fresh', charged: 2, offline: false });
  t.same(pending, [45_000]);
});

t.test('no_frame rejects that next() with a typed error; a rate-limited next is sent again with its id', async (t) => {
  const { client, clock, sockets } = setup(t, { prefetch: 0 });
  const first = client.next();
  await settle();
  await live(sockets[0]!);
  const id = String(sockets[0]!.sentOfType('next')[0]!['id']);
  sockets[0]!.receive({ t: 'error', code: 'rate_limited', message: 'slow down', req: id });
  await clock.advance(1_000);
  t.same(sockets[0]!.sentOfType('next').map((message) => message['id']), [id, id]);
  sockets[0]!.receive({ t: 'error', code: 'no_frame', message: 'nothing for this screen', req: id });
  await t.rejects(first, { name: 'TitrateError', code: 'no_frame', req: id });
});

t.test('with autoShown false, dwell runs from one shown() to the next, and like/skip mark the beacon', async (t) => {
  const { client, clock, sockets } = setup(t, { prefetch: 0, autoShown: false });
  const firstPromise = client.next();
  await settle();
  await live(sockets[0]!);
  const socket = sockets[0]!;
  socket.receive(frame(String(socket.sentOfType('next')[0]!['id'])));
  const first = await firstPromise;
  t.equal(first.shownAt, undefined, 'handed out, not yet on screen');
  await clock.advance(500);
  client.shown(first);
  client.like();
  const secondPromise = client.next();
  await settle();
  socket.receive(frame(String(socket.sentOfType('next')[1]!['id'])));
  const second = await secondPromise;
  await clock.advance(12_000);
  client.shown(second);
  client.skip();
  await settle();
  const [beacon] = socket.sentOfType('beacon');
  t.match(beacon, { frame: first.id, dwellMs: 12_000, shownAt: first.shownAt, liked: true });
  t.equal(beacon!['skipped'], undefined);
  t.equal(client.stats().framesShown, 2);
});

t.test('a context change drops free frames of the old context and keeps the charged fresh one', async (t) => {
  const { client, sockets } = setup(t, { prefetch: 3 });
  const first = client.next();
  await settle();
  await live(sockets[0]!);
  const socket = sockets[0]!;
  const ids = socket.sentOfType('next').map((message) => String(message['id']));
  t.equal(ids.length, 4, 'three ahead of the waiting call');
  socket.receive(frame(ids[0]!));
  await first;
  socket.receive(frame(ids[1]!));
  socket.receive(frame(ids[2]!, { source: 'fresh', charged: 2 }));
  await settle();
  client.setContext({ genre: 'ambient', mood: 'calm', energy: 0.2 });
  await settle();
  t.match(socket.sentOfType('context'), [{ context: { genre: 'ambient', mood: 'calm' } }]);
  socket.receive(frame(ids[3]!));
  t.match(await client.next(), { req: ids[2], source: 'fresh' }, 'the charged frame is still shown');
  t.equal(client.stats().framesDropped, 2, 'the ready free frame and the one landing after the change');
  t.throws(() => client.setContext({ genre: '', mood: 'calm', energy: 2 }), { code: 'invalid_context' });
});

t.test('invalid server messages are ignored and counted, never thrown', async (t) => {
  const { client, sockets } = setup(t);
  client.connect().catch(() => undefined);
  await settle();
  await live(sockets[0]!);
  sockets[0]!.receiveRaw('{not json');
  sockets[0]!.receiveRaw(JSON.stringify({ t: 'frame', id: 'only an id' }));
  sockets[0]!.receiveRaw(JSON.stringify({ t: 'weather', sunny: true }));
  sockets[0]!.receiveRaw(new Uint8Array([0xc1]));
  sockets[0]!.receiveRaw({ not: 'bytes' });
  t.equal(client.stats().invalidServerMessages, 5);
  t.equal(client.state, 'live');
});

t.test('close() sends the last beacon, waits for its ack and closes with 1000', async (t) => {
  const { client, clock, sockets } = setup(t, { prefetch: 0 });
  const next = client.next();
  await settle();
  await live(sockets[0]!);
  const socket = sockets[0]!;
  socket.receive(frame(String(socket.sentOfType('next')[0]!['id'])));
  await next;
  await clock.advance(7_000);
  const closing = client.close();
  await settle();
  const [beacon] = socket.sentOfType('beacon');
  t.match(beacon, { dwellMs: 7_000 });
  t.equal(socket.closedByClient, null, 'the socket waits for the ack');
  socket.receive({ t: 'ack', req: beacon!['id'], ok: true, reward: 0, counted: true });
  await closing;
  t.same(socket.closedByClient, { code: 1000, reason: 'client' });
  t.equal(client.state, 'closed');
});

t.test('a burst resolves with its ack and is sent again with the same id after a reconnect', async (t) => {
  const { client, clock, sockets } = setup(t);
  client.connect().catch(() => undefined);
  await settle();
  await live(sockets[0]!);
  const bought = client.burst('burst-1');
  await settle();
  sockets[0]!.serverClose(1006);
  await clock.advance(100);
  await live(sockets[1]!, 's1', true);
  t.match(sockets[1]!.sentOfType('burst'), [{ id: 'burst-1' }]);
  sockets[1]!.receive({ t: 'ack', req: 'burst-1', ok: true, charged: 5, until: '2030-01-01T00:15:00.000Z' });
  t.match(await bought, { ok: true, charged: 5 });
});

t.test('conserve mode is restored when a new session does not remember it', async (t) => {
  const { client, clock, sockets } = setup(t);
  client.connect().catch(() => undefined);
  await settle();
  await live(sockets[0]!);
  client.conserve(true);
  t.match(sockets[0]!.sentOfType('conserve'), [{ on: true }]);
  sockets[0]!.serverClose(4000);
  await clock.advance(100);
  await live(sockets[1]!, 's2', false);
  t.match(sockets[1]!.sentOfType('conserve'), [{ on: true }], 'the new session gets it again');
});

t.test('options out of range are refused at construction', async (t) => {
  const { WebSocket } = memorySockets();
  const base = { url: 'ws://h/v1/stream', token: 'x', orientation: 'landscape' as const, context, WebSocket };
  t.throws(() => new TitrateClient({ ...base, prefetch: 6 }), RangeError);
  t.throws(() => new TitrateClient({ ...base, offlineCacheSize: 4 }), RangeError);
  t.throws(() => new TitrateClient({ ...base, offlineCacheSize: 11 }), RangeError);
  t.throws(() => new TitrateClient({ ...base, url: 'http://h/v1/stream' }), TypeError);
  t.throws(() => new TitrateClient({ ...base, context: { genre: 'x', mood: 'y', energy: 3 } }), { code: 'invalid_context' });
});
