import pg from 'pg';
import t from 'tap';
import { admin, available, burstPlayer, createUser, debitsAndRefunds, nextFrame, until } from '../support/fresh.js';
import { freshLimits } from '../../src/generation/fresh.js';
import { startTestServer } from '../support/server.js';
import { testDatabaseUrl, testDirectory } from '../support/services.js';

t.test('a congested queue answers from the library at once; the background frame is charged only if shown for 5 s', async (t) => {
  const databaseUrl = await testDatabaseUrl(t);
  const dataDir = await testDirectory(t);
  // No worker is alive, so the estimated wait is unbounded: every fresh decision is congested.
  const api = await startTestServer(t, 'memory', { TITRATE_ROLE: 'api', GEN_BEACON_WINDOW_MS: '1500', GEN_SWEEP_INTERVAL_MS: '100' }, { databaseUrl, dataDir });
  await createUser(api, 'keeper');
  await createUser(api, 'skipper');
  const keeper = await burstPlayer(api, 'keeper');
  const skipper = await burstPlayer(api, 'skipper');
  t.teardown(() => {
    keeper.close();
    skipper.close();
  });
  const keeperBefore = await available(api, 'keeper');
  for (const [client, id] of [[keeper, 'k1'], [skipper, 's1']] as const) {
    const { pending, frame } = await nextFrame(client, id);
    t.equal(pending, null, 'no pending: the answer is immediate');
    t.match(frame, { source: 'library', fallback: 'congested', charged: 0, p: 1 });
  }
  t.equal(await available(api, 'keeper'), keeperBefore - 2, 'the background frame is paid for up front (held)');

  // A worker process comes up and works through the background queue.
  await startTestServer(t, 'memory', { TITRATE_ROLE: 'worker' }, { databaseUrl, dataDir });
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 1 });
  t.teardown(() => pool.end());
  await until(async () => {
    const { rows } = await pool.query<{ ready: number }>(`SELECT count(*)::int AS ready FROM generations WHERE state = 'ready' AND purpose = 'congested'`);
    return rows[0]!.ready === 2;
  });

  const shown = await nextFrame(keeper, 'k2');
  t.match(shown.frame, { source: 'fresh', fallback: 'exact', charged: 2 }, 'the next request shows the background frame');
  const reasons = shown.frame['reasons'] as string[];
  t.ok(reasons.length > 1 && reasons.at(-1) === 'a fresh frame made for you earlier', `the order's reasons, then why it shows now: ${JSON.stringify(reasons)}`);
  const glimpsed = await nextFrame(skipper, 's2');
  t.match(glimpsed.frame, { source: 'fresh', charged: 2 });
  keeper.send({ t: 'beacon', frame: shown.frame['id'], dwellMs: 6_000 });
  skipper.send({ t: 'beacon', frame: glimpsed.frame['id'], dwellMs: 1_000 });

  await until(async () => (await debitsAndRefunds(api, 'skipper')).refundsByDebit.size === 1, 10_000);
  await new Promise((resolve) => setTimeout(resolve, 1_600));
  await api.sweep();
  const kept = await debitsAndRefunds(api, 'keeper');
  t.equal(kept.debits.length, 1);
  t.equal(kept.refundsByDebit.size, 0, 'shown for 6 s: the charge stands');
  const skipped = await debitsAndRefunds(api, 'skipper');
  t.equal(skipped.debits.length, 1);
  t.equal(skipped.refundsByDebit.get(skipped.debits[0]!.id), 1, 'shown for 1 s: refunded exactly once');
  const { rows } = await pool.query(`SELECT user_id, charge FROM generations ORDER BY user_id`);
  t.same(rows, [{ user_id: 'keeper', charge: 'kept' }, { user_id: 'skipper', charge: 'refunded' }]);
  const ledger = await admin(api, 'GET', '/v1/admin/users/skipper/ledger?limit=5');
  t.match(ledger.body.entries[0], { type: 'refund', amount: 2, details: { reason: 'not_displayed' } });
});

t.test('a player cannot queue more than a few background frames while the queue is congested', async (t) => {
  const api = await startTestServer(t, 'memory', { TITRATE_ROLE: 'api' });
  await createUser(api, 'eager');
  const client = await burstPlayer(api, 'eager');
  t.teardown(() => client.close());
  const before = await available(api, 'eager');
  const frames = [];
  for (let index = 0; index < 6; index += 1) frames.push((await nextFrame(client, `e${index}`)).frame);
  t.ok(frames.every((frame) => frame['source'] === 'library' && frame['fallback'] === 'congested'));
  const { debits } = await debitsAndRefunds(api, 'eager');
  t.equal(debits.length, 4, 'four background frames held; the rest are plain library frames');
  t.equal(await available(api, 'eager'), before - debits.reduce((sum, debit) => sum - debit.amount, 0));
  t.ok((frames[5]!['reasons'] as string[]).some((reason) => reason.includes('already coming')));
  client.close();
});

t.test('a player at the cap orders again once one of their background frames has ended', async (t) => {
  const api = await startTestServer(t, 'memory', { TITRATE_ROLE: 'api' });
  await createUser(api, 'steady');
  const client = await burstPlayer(api, 'steady');
  t.teardown(() => client.close());
  for (let index = 0; index < 5; index += 1) await nextFrame(client, `s${index}`);
  t.equal((await debitsAndRefunds(api, 'steady')).debits.length, 4, 'at the cap');
  // One background frame runs out of time and is refunded.
  const pool = new pg.Pool({ connectionString: api.databaseUrl, max: 1 });
  t.teardown(() => pool.end());
  await pool.query(`UPDATE generations SET deadline_at = now() - interval '1 second' WHERE id = (SELECT id FROM generations WHERE user_id = 'steady' ORDER BY created_at LIMIT 1)`);
  await api.sweep();
  // The cap found a moment ago is reused for a short while, then asked again.
  await new Promise((resolve) => setTimeout(resolve, freshLimits.saturatedReuseMs + 100));
  const { frame } = await nextFrame(client, 'after');
  t.match(frame, { source: 'library', fallback: 'congested' });
  const { debits, refundsByDebit } = await debitsAndRefunds(api, 'steady');
  t.equal(debits.length, 5, 'a fifth background frame was ordered');
  t.equal(refundsByDebit.size, 1, 'in place of the refunded one');
  client.close();
});
