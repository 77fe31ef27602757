/**
 * Titration over a real socket: the controller decides, the ledger charges, the journal records.
 */
import pg from 'pg';
import t from 'tap';
import { FrameMessage } from '@titrate/shared';
import { admin, available, createUser, landscapeTechno, nextFrame } from '../support/fresh.js';
import { TestClient, type Received } from '../support/client.js';
import { startTestServer } from '../support/server.js';

async function play(server: Awaited<ReturnType<typeof startTestServer>>, userId: string, frames: number): Promise<Received[]> {
  const client = await TestClient.connect(server.url, await server.tokens.issue(userId, 3600));
  try {
    await client.hello({ context: landscapeTechno });
    const answers: Received[] = [];
    for (let index = 0; index < frames; index += 1) answers.push((await nextFrame(client, `${userId}-${index}`, 30_000)).frame);
    return answers;
  } finally {
    client.close();
  }
}

t.test('titration over a socket', async (t) => {
  const server = await startTestServer(t, 'memory');
  await admin(server, 'PUT', '/v1/admin/tiers/rich', { baseQuota: 1000 });
  await admin(server, 'PUT', '/v1/admin/tiers/library-only', { baseQuota: 0 });
  await admin(server, 'PUT', '/v1/admin/tiers/unlimited', { baseQuota: 0, unlimited: true });

  t.test('a rich budget early in the cycle gets a mix of fresh and library frames, each fresh one charged once', async (t) => {
    await createUser(server, 'rich', 'rich');
    const before = await available(server, 'rich');
    const frames = await play(server, 'rich', 30);
    for (const frame of frames) FrameMessage.parse(frame);
    const fresh = frames.filter((frame) => frame['source'] === 'fresh');
    const library = frames.filter((frame) => frame['source'] === 'library');
    t.ok(fresh.length >= 3, `${fresh.length} fresh frames`);
    t.ok(library.length >= 3, `${library.length} library frames`);
    t.ok(fresh.every((frame) => (frame['charged'] as number) > 0 && (frame['p'] as number) > 0));
    t.ok(library.every((frame) => frame['charged'] === 0));
    const charged = frames.reduce((sum, frame) => sum + (frame['charged'] as number), 0);
    t.equal(before - (await available(server, 'rich')), charged, 'the ledger moved by exactly what the frames say');
    const last = frames.at(-1)!;
    t.match(last['forecast'], { freshPerDayLow: Number, freshPerDayHigh: Number, runOutRisk: /low|medium|high/ });
    t.match((frames[0]!['reasons'] as string[]).join(' | '), /allowance/, 'every frame explains the controller');
  });

  t.test('a socket with zero credits never gets a charged frame', async (t) => {
    await createUser(server, 'broke', 'library-only');
    const frames = await play(server, 'broke', 25);
    t.ok(frames.every((frame) => frame['source'] === 'library' && frame['charged'] === 0 && frame['p'] === 0));
    t.match((frames[0]!['reasons'] as string[]).join(' | '), /no credits/);
    t.equal(await available(server, 'broke'), 0);
  });

  t.test('an unlimited plan bypasses titration: always fresh, never charged', async (t) => {
    await createUser(server, 'patron', 'unlimited');
    const frames = await play(server, 'patron', 4);
    t.ok(frames.every((frame) => frame['source'] === 'fresh' && frame['charged'] === 0 && frame['p'] === 1));
    const ledger = await admin(server, 'GET', '/v1/admin/users/patron/ledger?limit=50');
    t.same(ledger.body.entries.filter((entry: { type: string }) => entry.type === 'generation'), [], 'no debit was written');
  });

  t.test('every answered decision is journaled with its policy, p and factors', async (t) => {
    await server.flushJournal();
    const client = new pg.Client({ connectionString: server.databaseUrl });
    await client.connect();
    t.teardown(() => client.end());
    const { rows } = await client.query<{ user_id: string; n: number; fresh: number; policies: string[]; with_factors: number }>(
      `SELECT user_id, count(*)::int AS n, count(*) FILTER (WHERE source = 'fresh')::int AS fresh, array_agg(DISTINCT policy) AS policies,
         count(*) FILTER (WHERE factors ? 'allowance')::int AS with_factors
       FROM decisions WHERE user_id IN ('rich', 'broke') GROUP BY user_id ORDER BY user_id`,
    );
    t.match(rows, [
      { user_id: 'broke', n: 25, fresh: 0, policies: ['pace'], with_factors: 25 },
      { user_id: 'rich', n: 30, policies: ['pace'], with_factors: 30 },
    ]);
    t.ok(rows[1]!.fresh >= 3);
  });
});

t.test('a tier can run another policy, chosen in configuration', async (t) => {
  const server = await startTestServer(t, 'memory', { TITRATION_TIER_POLICIES: JSON.stringify({ rich: 'seeds-literal' }) });
  await admin(server, 'PUT', '/v1/admin/tiers/rich', { baseQuota: 1000 });
  await createUser(server, 'literal', 'rich');
  const frames = await play(server, 'literal', 3);
  t.match((frames[0]!['reasons'] as string[]).join(' | '), /seeds-literal policy/);
});
