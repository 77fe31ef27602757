/**
 * A server restart under a playing client: the same port, data directory, database and Redis keys
 * come back, and the SDK just keeps going — it reconnects, resumes, and shows no frame twice.
 */
import t from 'tap';
import { WebSocket } from 'ws';
import { freePort } from '../../server/src/db/embedded.js';
import { admin, createUser } from '../../server/test/support/fresh.js';
import { startTestServer } from '../../server/test/support/server.js';
import { testDatabaseUrl, testDirectory, uniquePrefix } from '../../server/test/support/services.js';
import { TitrateClient } from '../src/client.js';
import type { Frame } from '../src/types.js';
import { stateReached } from './support/wait.js';

t.test('the SDK keeps streaming across a server restart, resumes its session and shows no frame twice', async (t) => {
  const port = await freePort();
  const dataDir = await testDirectory(t);
  const databaseUrl = await testDatabaseUrl(t);
  const redisKeyPrefix = uniquePrefix('sdk-restart');
  // One bucket of twelve frames: enough that no frame needs repeating in this show.
  const demoPlan = { genres: ['techno'], moods: ['energetic'], orientations: ['landscape' as const], perBucket: 12 };
  const start = () => startTestServer(t, 'redis', { PORT: String(port) }, { dataDir, databaseUrl, redisKeyPrefix, demoPlan });

  const first = await start();
  await admin(first, 'PUT', '/v1/admin/tiers/library-only', { baseQuota: 0 });
  await createUser(first, 'sdk-restart', 'library-only');
  const client = new TitrateClient({
    url: `ws://127.0.0.1:${port}/v1/stream`, token: await first.tokens.issue('sdk-restart', 600), orientation: 'landscape',
    context: { genre: 'techno', mood: 'energetic', energy: 0.5 }, WebSocket, reconnect: { baseMs: 100, maxMs: 1_000, attemptsMax: 200 },
  });
  t.teardown(() => client.close());
  const welcomes: boolean[] = [];
  client.on('welcome', (welcome) => welcomes.push(welcome.resumed));
  const shown: Frame[] = [];
  for (let index = 0; index < 3; index += 1) shown.push(await client.next());

  await first.stop();
  t.not(client.state, 'live', 'the client noticed');
  // While the server is away the player keeps asking; prefetched (or cached) frames bridge the gap.
  const during = client.next();
  const second = await start();
  t.equal(second.port, port);
  shown.push(await during);
  await stateReached(client, 'live', 60_000);
  let framesAfterRestart = 0;
  client.on('frame', () => (framesAfterRestart += 1));
  for (let index = 0; index < 4; index += 1) shown.push(await client.next());

  t.ok(framesAfterRestart >= 2, `frames decided after the restart arrived (${framesAfterRestart})`);
  t.ok(client.stats().reconnects >= 1);
  t.equal(welcomes.at(-1), true, 'the session was resumed (its state is in Redis)');
  t.equal(new Set(shown.map((frame) => frame.id)).size, shown.length, 'no decision shown twice');
  t.equal(new Set(shown.map((frame) => frame.frameId)).size, shown.length, 'no image shown twice');
  await client.close();
  t.equal(client.stats().beaconsQueued, 0, 'every beacon reached the server');
});
