import pg from 'pg';
import t from 'tap';
import { limits } from '../../src/limits.js';
import { TestClient } from '../support/client.js';
import { available, burstPlayer, createUser, debitsAndRefunds, landscapeTechno, nextFrame, until } from '../support/fresh.js';
import { startTestServer } from '../support/server.js';

async function readyGenerations(databaseUrl: string): Promise<number> {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 1 });
  try {
    const { rows } = await pool.query<{ ready: number }>(`SELECT count(*)::int AS ready FROM generations WHERE state = 'ready'`);
    return rows[0]!.ready;
  } finally {
    await pool.end();
  }
}

t.test('a player that reconnects and repeats its next gets the frame generated while it was away', async (t) => {
  const server = await startTestServer(t, 'memory', { GEN_LOCAL_DELAY_MS: '300' });
  await createUser(server, 'flaky');
  const token = await server.tokens.issue('flaky', 600);
  const first = await TestClient.connect(server.url, token);
  const welcome = await first.hello({ context: landscapeTechno });
  first.send({ t: 'burst', id: 'b' });
  await first.takeType('ack');
  first.send({ t: 'next', id: 'n1' });
  await first.take((message) => message.t === 'pending');
  first.close();
  await first.closed;
  await until(async () => (await readyGenerations(server.databaseUrl)) === 1);

  const again = await TestClient.connect(server.url, token);
  t.teardown(() => again.close());
  const resumed = await again.hello({ context: landscapeTechno, resume: welcome['session'] });
  t.equal(resumed['resumed'], true);
  const answer = await nextFrame(again, 'n1');
  t.match(answer.frame, { source: 'fresh', req: 'n1' }, 'the repeated next is answered with the frame it paid for');
  const { debits } = await debitsAndRefunds(server, 'flaky');
  t.equal(debits.length, 1, 'and nothing is charged twice');
  again.close();
});

t.test('a frame whose session has gone waits for the user\'s next request on any device', async (t) => {
  const server = await startTestServer(t, 'memory', { GEN_LOCAL_DELAY_MS: '300' });
  await createUser(server, 'wanderer');
  const phone = await burstPlayer(server, 'wanderer');
  phone.send({ t: 'next', id: 'left-behind' });
  await phone.take((message) => message.t === 'pending');
  phone.close();
  await phone.closed;
  await until(async () => (await readyGenerations(server.databaseUrl)) === 1);
  const balance = await available(server, 'wanderer');

  const tv = await TestClient.connect(server.url, await server.tokens.issue('wanderer', 600));
  t.teardown(() => tv.close());
  await tv.hello({ context: { genre: 'jazz', mood: 'calm', energy: 0.2 } });
  // The frame belongs to its own request for a short hand-off time, then to any request of the user.
  await new Promise((resolve) => setTimeout(resolve, limits.inboxHandoffMs));
  const { pending, frame } = await nextFrame(tv, 'tv-1');
  t.equal(pending, null);
  t.match(frame, { source: 'fresh', genre: 'techno' }, 'the frame made for the phone is shown on the tv');
  t.equal(await available(server, 'wanderer'), balance, 'it was paid for once, when it was ordered');
  const { debits, refundsByDebit } = await debitsAndRefunds(server, 'wanderer');
  t.equal(debits.length, 1);
  t.equal(refundsByDebit.size, 0);
  tv.close();
});
