import pg from 'pg';
import sharp from 'sharp';
import t, { type Test } from 'tap';
import { TestClient } from '../support/client.js';
import { startTestServer } from '../support/server.js';
import { admin, available, burstPlayer, createUser, debitsAndRefunds, landscapeTechno, nextFrame } from '../support/fresh.js';

t.test('a burst-mode session gets real fresh images from the local renderer, each charged once', async (t) => {
  const server = await startTestServer(t, 'memory');
  await createUser(server, 'fan');
  const before = await available(server, 'fan');
  const client = await burstPlayer(server, 'fan');
  t.teardown(() => client.close());
  const { pending, frame } = await nextFrame(client, 'n1');
  t.ok(pending !== null, 'the next is answered pending first');
  t.type(pending?.['etaMs'], 'number');
  t.match(frame, { t: 'frame', req: 'n1', source: 'fresh', fallback: 'exact', charged: 2, p: 1, orientation: 'landscape', width: 1280, height: 720 });
  const image = await fetch(`${server.url}${String(frame['url'])}`);
  t.equal(image.status, 200);
  t.equal(image.headers.get('content-type'), 'image/webp');
  const metadata = await sharp(Buffer.from(await image.arrayBuffer())).metadata();
  t.same({ width: metadata.width, height: metadata.height }, { width: 1280, height: 720 });
  t.equal(await available(server, 'fan'), before - 5 - 2, 'the burst and the frame were charged');

  const replay = await nextFrame(client, 'n1');
  t.equal(replay.pending, null, 'a replayed next is answered from its final decision');
  t.equal(replay.frame['frameId'], frame['frameId']);
  t.equal(await available(server, 'fan'), before - 5 - 2, 'a replay charges nothing');

  const { frame: second } = await nextFrame(client, 'n2');
  t.equal(second['source'], 'fresh');
  t.not(second['frameId'], frame['frameId'], 'the next frame is another image');
  const { debits, refundsByDebit } = await debitsAndRefunds(server, 'fan');
  t.equal(debits.length, 2);
  t.equal(refundsByDebit.size, 0);
  client.close();
});

/** A server with users "first" and "second", and "first"'s burst player, whose `next` 'a' generated a frame (now in the prompt cache). */
async function promptCached(t: Test) {
  const server = await startTestServer(t, 'memory');
  await createUser(server, 'first');
  await createUser(server, 'second');
  const one = await burstPlayer(server, 'first');
  t.teardown(() => one.close());
  const generated = await nextFrame(one, 'a');
  return { server, one, generated };
}

t.test('a second user with the same music is served from the prompt cache: at once, same image, charged the same', async (t) => {
  const { server, one, generated } = await promptCached(t);
  t.ok(generated.pending !== null);
  const two = await burstPlayer(server, 'second');
  t.teardown(() => two.close());
  const before = await available(server, 'second');
  const cached = await nextFrame(two, 'b');
  t.equal(cached.pending, null, 'no waiting for a cached image');
  t.match(cached.frame, { source: 'fresh', frameId: generated.frame['frameId'], charged: generated.frame['charged'] });
  t.ok((cached.frame['reasons'] as string[]).some((reason) => reason.includes('prompt cache')));
  t.equal(await available(server, 'second'), before - Number(cached.frame['charged']));
  const metrics = await (await fetch(`${server.url}/metrics`)).text();
  t.match(metrics, /titrate_prompt_cache_total\{result="hit"\} 1/);

  const again = await nextFrame(one, 'a2', 20_000, { context: landscapeTechno });
  t.not(again.frame['frameId'], generated.frame['frameId'], 'a viewer is never served a cached image they already saw');
  one.close();
  two.close();
});

t.test('a prompt-cache hit for a next that another socket of the session had answered from the inbox shows that frame and charges nothing', async (t) => {
  const { server, generated } = await promptCached(t);
  const two = await TestClient.connect(server.url, await server.tokens.issue('second', 3600));
  t.teardown(() => two.close());
  const session = String((await two.hello({ context: landscapeTechno }))['session']);
  two.send({ t: 'burst', id: 'burst-second' });
  t.equal((await two.takeType('ack'))['ok'], true);
  // What the inbox's take leaves behind when the same next, on another socket, took a waiting frame.
  const pool = new pg.Pool({ connectionString: server.databaseUrl, max: 1 });
  t.teardown(() => pool.end());
  const { rows } = await pool.query<{ id: string }>(`SELECT id FROM frames WHERE source <> 'fresh' AND orientation = 'landscape' LIMIT 1`);
  const waiting = rows[0]!.id;
  await pool.query(
    `INSERT INTO generations (id, user_id, session_id, request_id, purpose, queue, state, charge, provider, model, credits, prompt, prompt_key,
       prompt_hash, variant, genre, mood, style, energy, orientation, width, height, p, frame_id, deadline_at, started_at, finished_at,
       answered_at, answer_session, answer_request)
     VALUES ('waiting-frame-1', 'second', $1, 'earlier', 'congested', 'background', 'ready', 'none', 'local', 'local', 0, 'a prompt', 'key',
       'hash', 0, 'techno', 'energetic', 'nebula', 0.8, 'landscape', 1280, 720, 1, $2, now(), now(), now(), now(), $1, 'b')`,
    [session, waiting],
  );
  const before = await available(server, 'second');
  const { frame } = await nextFrame(two, 'b');
  t.not(frame['frameId'], generated.frame['frameId'], 'not the cached image');
  t.match(frame, { t: 'frame', req: 'b', source: 'fresh', frameId: waiting }, 'the frame that answered this next');
  t.equal(await available(server, 'second'), before, 'nothing charged for the copy');
  t.equal((await debitsAndRefunds(server, 'second')).debits.length, 0);
  const metrics = await (await fetch(`${server.url}/metrics`)).text();
  t.match(metrics, /titrate_prompt_cache_total\{result="hit"\} 1/, 'it was a prompt-cache hit');
});

t.test('fresh frames ordered back to back are different images, each paid once', async (t) => {
  const server = await startTestServer(t, 'memory', { GEN_LOCAL_DELAY_MS: '200' });
  await createUser(server, 'dj');
  const client = await burstPlayer(server, 'dj');
  t.teardown(() => client.close());
  for (const id of ['q1', 'q2', 'q3']) client.send({ t: 'next', id });
  const frames = await Promise.all(['q1', 'q2', 'q3'].map((id) => client.take((message) => message.t === 'frame' && message['req'] === id, 20_000)));
  t.same(frames.map((frame) => frame['source']), ['fresh', 'fresh', 'fresh']);
  t.equal(new Set(frames.map((frame) => frame['frameId'])).size, 3, 'three different images');
  t.equal((await debitsAndRefunds(server, 'dj')).debits.length, 3);
  client.close();
});

t.test('without credits the show stays on library frames and nothing is charged', async (t) => {
  const server = await startTestServer(t, 'memory');
  await admin(server, 'PUT', '/v1/admin/tiers/library-only', { baseQuota: 0 });
  await createUser(server, 'calm', 'library-only');
  const before = await available(server, 'calm');
  const { TestClient } = await import('../support/client.js');
  const client = await TestClient.connect(server.url, await server.tokens.issue('calm', 600));
  t.teardown(() => client.close());
  await client.hello();
  const { pending, frame } = await nextFrame(client, 'x');
  t.equal(pending, null);
  t.match(frame, { source: 'library', charged: 0, p: 0 });
  t.equal(await available(server, 'calm'), before);
  client.close();
});
