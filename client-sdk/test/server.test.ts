/**
 * The SDK against the real Titrate server (real PostgreSQL, memory engine): frames, beacon acks
 * with rewards, the offline stock, and the token check behind a refused connection.
 */
import t, { type Test } from 'tap';
import { WebSocket } from 'ws';
import type { Titrate } from '../../server/src/main.js';
import { admin, createUser } from '../../server/test/support/fresh.js';
import { startTestServer } from '../../server/test/support/server.js';
import { TitrateClient } from '../src/client.js';
import type { BeaconAnswer, ClientOptions } from '../src/types.js';
import { eventually } from './support/wait.js';

const techno = { genre: 'techno', mood: 'energetic', energy: 0.8 };

let server: Titrate;
let token: string;

t.before(async () => {
  server = await startTestServer(t, 'memory');
  // The library path without fresh frames: a plan with no credits.
  await admin(server, 'PUT', '/v1/admin/tiers/library-only', { baseQuota: 0 });
  await createUser(server, 'sdk-listener', 'library-only');
  token = await server.tokens.issue('sdk-listener', 600);
});

function clientOf(t: Test, options: Partial<ClientOptions> = {}): TitrateClient {
  const client = new TitrateClient({
    url: `${server.url.replace(/^http/, 'ws')}/v1/stream`, token, orientation: 'landscape', context: techno, WebSocket,
    reconnect: { baseMs: 50, maxMs: 500, attemptsMax: 20 }, ...options,
  });
  t.teardown(() => client.close());
  return client;
}

t.test('streams five frames from the server and every beacon is acknowledged, a liked frame with reward 1', async (t) => {
  const client = clientOf(t);
  const answers: BeaconAnswer[] = [];
  client.on('beacon', (answer) => answers.push(answer));
  const frames = [];
  for (let index = 0; index < 5; index += 1) {
    const frame = await client.next();
    frames.push(frame);
    if (index === 2) client.like();
  }
  t.ok(frames.every((frame) => frame.source === 'library' && frame.charged === 0 && !frame.offline));
  t.equal(new Set(frames.map((frame) => frame.id)).size, 5, 'five decisions');
  const image = await fetch(frames[0]!.imageUrl);
  t.equal(image.status, 200, 'imageUrl is fetchable');
  await client.close();
  t.equal(answers.length, 5, 'one beacon per frame, the last one sent by close()');
  t.same(answers.map((answer) => answer.beacon.frame), frames.map((frame) => frame.id));
  t.ok(answers.every((answer) => answer.ok), `acks: ${JSON.stringify(answers.map((answer) => answer.code))}`);
  t.same(answers.map((answer) => answer.reward), [0, 0, 1, 0, 0], 'a short look is 0, a liked frame is 1');
  t.equal(client.stats().beaconsQueued, 0);
});

t.test('fills the offline cache from the server stock with image bytes', async (t) => {
  // A user with nothing seen yet: stock offers only unseen frames, and the test pantry is small.
  await createUser(server, 'sdk-offline', 'library-only');
  const client = clientOf(t, { offlineCacheSize: 5, token: await server.tokens.issue('sdk-offline', 600) });
  const stocks: number[] = [];
  client.on('stock', (message) => stocks.push(message.frames.length));
  await client.connect();
  await eventually(() => client.stats().offlineCached === 5, 20_000, 'a full offline cache');
  t.ok(stocks.length >= 1);
});

t.test('a token for a user the server does not know ends in unauthorized, without a reconnect loop', async (t) => {
  const stranger = await server.tokens.issue('nobody-knows-me', 600);
  const client = clientOf(t, { token: stranger });
  await t.rejects(client.connect(), { code: 'unauthorized' });
  t.equal(client.stats().connectionAttempts, 1);
});

t.test('an expired token is refreshed through the token check, then the stream connects', async (t) => {
  const expired = await server.tokens.issue('sdk-listener', 1, Date.now() - 60_000);
  let refreshes = 0;
  const client = clientOf(t, { token: expired, refreshToken: async () => ((refreshes += 1), token) });
  const welcome = await client.connect();
  t.equal(welcome.tier, 'library-only');
  t.equal(refreshes, 1);
  t.equal(client.stats().connectionAttempts, 2);
});
