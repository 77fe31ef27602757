/**
 * The client over real sockets against a scripted fake server (test/support/fakeServer.ts):
 * prefetch, replays with the same ids, resume, backoff, token refresh, beacons and the offline cache.
 */
import t, { type Test } from 'tap';
import { WebSocket } from 'ws';
import { TitrateClient } from '../src/client.js';
import type { BeaconAnswer, ClientOptions, Frame } from '../src/types.js';
import { FakeServer } from './support/fakeServer.js';
import { context } from './support/messages.js';
import { eventually, sleep, stateReached } from './support/wait.js';

function clientOf(t: Test, fake: FakeServer, options: Partial<ClientOptions> = {}): TitrateClient {
  const client = new TitrateClient({
    url: fake.url, token: 'good', orientation: 'landscape', context, WebSocket,
    reconnect: { baseMs: 20, maxMs: 200, attemptsMax: 100 }, ...options,
  });
  t.teardown(() => client.close());
  return client;
}

/** Everything the client sent before this is at the server once the conserve message is. */
async function barrier(fake: FakeServer, client: TitrateClient): Promise<void> {
  const before = fake.messages('conserve').length;
  client.conserve(before % 2 === 0);
  await fake.until(() => fake.messages('conserve').length > before, 15_000, 'barrier');
}

t.test('keeps `prefetch` next requests ahead of the player, each with its own id', async (t) => {
  const fake = await FakeServer.start(t);
  const client = clientOf(t, fake, { prefetch: 3 });
  const first = await client.next();
  await eventually(() => client.stats().framesReady === 3, 15_000, 'three frames ready');
  await barrier(fake, client);
  t.equal(fake.messages('next').length, 4, 'the first frame and three ahead');
  const second = await client.next();
  await barrier(fake, client);
  t.equal(fake.messages('next').length, 5, 'taking one ready frame asks for one more');
  t.not(second.id, first.id);
  t.equal(new Set(fake.messages('next').map((entry) => entry.message.id)).size, 5);
  t.same(fake.invalid, []);
});

t.test('a dropped socket resends the unanswered next with the same id', async (t) => {
  const fake = await FakeServer.start(t);
  fake.answerNext = (_message, connection) => (connection === 0 ? 'silent' : 'frame');
  const client = clientOf(t, fake, { prefetch: 0 });
  const next = client.next();
  await fake.until(() => fake.messages('next').length === 1);
  fake.drop();
  const frame = await next;
  const sent = fake.messages('next');
  t.same(sent.map((entry) => entry.connection), [0, 1]);
  t.equal(sent[1]!.message.id, sent[0]!.message.id, 'the same idempotency key');
  t.equal(frame.req, sent[0]!.message.id);
});

t.test('the second hello resumes the session of the first welcome', async (t) => {
  const fake = await FakeServer.start(t);
  const client = clientOf(t, fake);
  const welcomes: boolean[] = [];
  client.on('welcome', (welcome) => welcomes.push(welcome.resumed));
  await client.connect();
  fake.drop(4000);
  await fake.until(() => fake.hellos.length === 2);
  await eventually(() => welcomes.length === 2);
  t.equal(fake.hellos[0]!.resume, undefined);
  t.equal(fake.hellos[1]!.resume, 'session-1');
  t.same(welcomes, [false, true]);
  t.equal(client.session, 'session-1');
  t.equal(client.stats().reconnects, 1);
});

t.test('after the server drops, attempts wait out full-jitter delays under a doubling ceiling', async (t) => {
  const fake = await FakeServer.start(t);
  const client = clientOf(t, fake, { random: () => 0.9, reconnect: { baseMs: 100, maxMs: 5_000, attemptsMax: 100 } });
  await client.connect();
  fake.mode = 'refuse';
  const droppedAtMs = Date.now();
  fake.drop(4000);
  await fake.until(() => fake.upgrades.length >= 5, 20_000, 'four attempts');
  fake.mode = 'up';
  await fake.until(() => fake.hellos.length === 2, 20_000, 'the reconnect');
  const times = [droppedAtMs, ...fake.upgrades.slice(1, 5).map((upgrade) => upgrade.atMs)];
  // random() = 0.9: the waits are at least 0.9 × 100 × 2^n = 90, 180, 360, 720 ms (the token check adds to them).
  for (const [index, minimumMs] of [90, 180, 360, 720].entries()) {
    const gapMs = times[index + 1]! - times[index]!;
    t.ok(gapMs >= minimumMs - 5, `attempt ${index + 1} came ${gapMs} ms after the previous (at least ${minimumMs})`);
  }
  t.same(fake.authChecks, ['good', 'good', 'good', 'good'], 'each refused attempt checked the token, which was fine');
  await stateReached(client, 'live');
});

t.test('a refused token is refreshed once, and the refreshed token connects', async (t) => {
  const fake = await FakeServer.start(t, ['fresh']);
  let refreshes = 0;
  const client = clientOf(t, fake, { token: 'stale', refreshToken: async () => ((refreshes += 1), 'fresh') });
  await client.connect();
  t.equal(refreshes, 1);
  t.same(fake.upgrades.map((upgrade) => [upgrade.token, upgrade.status]), [['stale', 401], ['fresh', 101]]);
  t.same(fake.authChecks, ['stale']);
  t.equal(client.state, 'live');
});

t.test('a token refused twice ends in unauthorized, with no further connection attempts', async (t) => {
  const fake = await FakeServer.start(t, []);
  let refreshes = 0;
  const client = clientOf(t, fake, { token: 'stale', refreshToken: async () => ((refreshes += 1), 'also-stale') });
  await t.rejects(client.connect(), { code: 'unauthorized' });
  t.equal(client.state, 'unauthorized');
  t.equal(refreshes, 1);
  t.equal(fake.upgrades.length, 2);
  await sleep(500);
  t.equal(fake.upgrades.length, 2, 'nothing more, not even later');
  t.same(fake.authChecks, ['stale', 'also-stale']);
  await t.rejects(client.next(), { code: 'unauthorized' });
});

t.test('a 4001 close refreshes the token and reconnects with resume', async (t) => {
  const fake = await FakeServer.start(t, ['first']);
  let refreshes = 0;
  const client = clientOf(t, fake, {
    token: 'first',
    refreshToken: async () => {
      refreshes += 1;
      fake.tokens.add('second');
      return 'second';
    },
  });
  await client.connect();
  fake.tokens.delete('first');
  fake.drop(4001);
  await fake.until(() => fake.hellos.length === 2);
  t.equal(refreshes, 1);
  t.same(fake.upgrades.map((upgrade) => upgrade.token), ['first', 'second']);
  t.equal(fake.hellos[1]!.resume, 'session-1');
});

t.test('beacons unacknowledged or queued while disconnected are sent after the reconnect with the same ids', async (t) => {
  const fake = await FakeServer.start(t);
  fake.ackBeacons = false;
  const client = clientOf(t, fake, { prefetch: 2 });
  const answers: BeaconAnswer[] = [];
  client.on('beacon', (answer) => answers.push(answer));
  await client.next();
  await client.next();
  await fake.until(() => fake.messages('beacon').length === 1, 15_000, 'the first beacon');
  await eventually(() => client.stats().framesReady >= 1, 15_000, 'a frame ready');
  fake.mode = 'down';
  fake.drop();
  await stateReached(client, 'reconnecting');
  const third = await client.next();
  t.equal(third.offline, false, 'a prefetched frame is shown first');
  t.equal(client.stats().beaconsQueued, 2);
  fake.ackBeacons = true;
  fake.mode = 'up';
  await eventually(() => client.stats().beaconsQueued === 0, 15_000, 'every beacon acknowledged');
  const firstId = fake.messages('beacon')[0]!.message.id;
  const replayed = fake.messages('beacon').filter((entry) => entry.connection === 1);
  t.same(replayed.map((entry) => entry.message.id).sort(), answers.map((answer) => answer.beacon.id).sort());
  t.ok(replayed.some((entry) => entry.message.id === firstId), 'the unacknowledged beacon went again with its id');
  t.equal(answers.length, 2);
  t.ok(answers.every((answer) => answer.ok && answer.counted === true));
});

t.test('offline, next() shows cached stock frames with their bytes, and their beacons sync after the reconnect', async (t) => {
  const fake = await FakeServer.start(t);
  const client = clientOf(t, fake, { prefetch: 0, offlineCacheSize: 5 });
  const live = await client.next();
  await eventually(() => client.stats().offlineCached === 5, 15_000, 'a full offline cache');
  t.same(fake.messages('stock').map((entry) => entry.message.count), [5]);
  fake.mode = 'down';
  fake.drop();
  await stateReached(client, 'reconnecting');
  const offline: Frame[] = [await client.next(), await client.next()];
  t.equal(client.state, 'offline');
  t.equal(client.showingCached, true);
  for (const frame of offline) {
    t.match(frame, { offline: true, source: 'library', charged: 0 });
    t.equal(new TextDecoder().decode(frame.bytes), `image:${frame.frameId}`, 'the image came along');
  }
  t.not(offline[0]!.frameId, offline[1]!.frameId);
  fake.mode = 'up';
  await stateReached(client, 'live');
  const after = await client.next();
  t.equal(after.offline, false);
  await eventually(() => fake.messages('beacon').length === 3, 15_000, 'three beacons');
  const beacons = fake.messages('beacon').map((entry) => entry.message);
  t.match(beacons[0], { frame: live.id, shownAt: live.shownAt });
  t.equal(beacons[0]!.offline, undefined, 'the live frame was shown live');
  t.match(beacons.slice(1), [
    { frame: offline[0]!.id, offline: true, shownAt: offline[0]!.shownAt },
    { frame: offline[1]!.id, offline: true, shownAt: offline[1]!.shownAt },
  ]);
  t.match(client.stats(), { offlineShown: 2, framesShown: 4 });
  t.same(fake.invalid, []);
});

t.test('a next() waiting when the connection drops is served from the offline cache', async (t) => {
  const fake = await FakeServer.start(t);
  const client = clientOf(t, fake, { prefetch: 0, offlineCacheSize: 5 });
  await client.connect();
  await eventually(() => client.stats().offlineCached === 5, 15_000, 'a full offline cache');
  fake.answerNext = () => 'silent';
  fake.mode = 'down';
  const waiting = client.next();
  await fake.until(() => fake.messages('next').length === 1);
  fake.drop();
  t.match(await waiting, { offline: true });
  t.equal(client.state, 'offline');
});

t.test('a pending fresh frame survives a reconnect: the wait is bridged offline, the request repeated, the frame shown next', async (t) => {
  const fake = await FakeServer.start(t);
  fake.answerNext = (_message, connection) => (connection === 0 ? 'pending' : 'frame');
  const client = clientOf(t, fake, { prefetch: 0, offlineCacheSize: 5 });
  await client.connect();
  await eventually(() => client.stats().offlineCached === 5, 15_000, 'a full offline cache');
  const pending: string[] = [];
  client.on('pending', (message) => pending.push(message.req));
  const waiting = client.next();
  await eventually(() => pending.length === 1);
  fake.drop(4000);
  t.match(await waiting, { offline: true }, 'the screen is not left empty meanwhile');
  await fake.until(() => fake.messages('next').length === 2);
  const fresh = await client.next();
  t.equal(fresh.req, pending[0], 'the pending request is answered after the reconnect');
  t.same(fake.messages('next').map((entry) => entry.message.id), [pending[0], pending[0]], 'with the same id');
});

t.test('MessagePack is the default encoding and JSON works as well', async (t) => {
  const fake = await FakeServer.start(t);
  const json = clientOf(t, fake, { encoding: 'json' });
  t.match(await json.next(), { source: 'library' });
  const msgpack = clientOf(t, fake);
  t.match(await msgpack.next(), { source: 'library' });
  t.same(fake.invalid, []);
});
