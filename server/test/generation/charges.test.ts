import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import fc from 'fast-check';
import t from 'tap';
import { CachedCharges, type CachedCharge } from '../../src/generation/charges.js';
import type { NewGeneration } from '../../src/generation/store.js';
import { accountLockStatement, debitCallOf } from '../../src/ledger/ledger.js';
import { ledgerFixture, untilWaitingForLocks, type LedgerFixture } from '../support/ledger.js';

const frameId = 'cachedframe01';

async function withCachedFrame(fixture: LedgerFixture): Promise<void> {
  await fixture.pool.query(
    `INSERT INTO frames (id, source, genre, mood, style, orientation, width, height, content_type, bytes, sha256, path)
     VALUES ($1, 'fresh', 'techno', 'dark', 'nebula', 'landscape', 1920, 1080, 'image/webp', 100, repeat('a', 64), 'x.webp')`,
    [frameId],
  );
  await fixture.pool.query(`INSERT INTO prompt_cache (prompt_hash, prompt_key, variant, frame_id, model) VALUES ('hash-0', 'key', 0, $1, 'local-detailed')`, [frameId]);
}

/** Batches of up to 64 hits, one written at a time; `onBatch` hears each batch's size. */
const batchesOn = (fixture: LedgerFixture, onBatch?: (size: number) => void) =>
  new CachedCharges({ pool: fixture.pool, log: pino({ level: 'silent' }), ...(onBatch === undefined ? {} : { onBatch }) }, { batchMax: 64, inFlightMax: 1, queueMax: 100 });

function chargeFor(userId: string, requestId: string, credits = 2): CachedCharge {
  const generation: NewGeneration & { userId: string } = {
    id: randomUUID(), userId, sessionId: `session-${userId}`, requestId, purpose: 'interactive', queue: 'interactive', charge: 'held', provider: 'local',
    model: 'local-detailed', credits, usd: 0, ledgerId: null, prompt: 'a prompt', promptKey: 'key', promptHash: 'hash-0', variant: 0, genre: 'techno',
    mood: 'dark', style: 'nebula', energy: 0.9, orientation: 'landscape', width: 1920, height: 1080, p: 1, reasons: ['burst'], deadlineMs: 0,
  };
  const debit = debitCallOf({
    userId, kind: 'generation', requestId: `${generation.sessionId}:${requestId}`, amount: credits, parameters: { model: generation.model },
    details: { generation: generation.id, model: generation.model, cacheHit: true },
  });
  return { debit, generation, frameId };
}

t.test('prompt-cache hits of many users commit together: each debited once, answered at once, the ledger equal to the snapshots', async (t) => {
  const fixture = await ledgerFixture(t);
  await fixture.tier('lots', { baseQuota: 100 });
  await withCachedFrame(fixture);
  const users = Array.from({ length: 12 }, (_, index) => `hit-${index}`);
  for (const user of users) await fixture.user(user, 'lots');
  const sizes: number[] = [];
  const charges = batchesOn(fixture, (size) => sizes.push(size));
  const results = await Promise.all(users.flatMap((user) => [charges.charge(chargeFor(user, 'r1')), charges.charge(chargeFor(user, 'r2'))]));
  t.ok(results.every((result) => result.status === 'debited'), 'every hit debited');
  t.ok(sizes.length < results.length, `${results.length} hits in ${sizes.length} statements`);
  for (const user of users) {
    const balance = await fixture.balance(user);
    t.equal(balance.snapshot, 96, `${user} paid for two frames`);
    t.equal(balance.sum, balance.snapshot, `${user}: the ledger sums to the snapshot`);
  }
  const { rows } = await fixture.pool.query<{ count: string }>(
    `SELECT count(*) FROM generations WHERE state = 'ready' AND charge = 'kept' AND cache_hit AND answered_at IS NOT NULL AND ledger_id IS NOT NULL`,
  );
  t.equal(Number(rows[0]!.count), users.length * 2, 'one answered, kept generation per debit');
  const rowsOf = await fixture.pool.query<{ frame: string; answered: boolean; outcome: boolean }>(
    `SELECT g.frame_id AS frame, g.answer_session = g.session_id AND g.answer_request = g.request_id AS answered,
            r.ledger_id = g.ledger_id AND r.request_id LIKE '%' || g.session_id || ':' || g.request_id AS outcome
       FROM generations g JOIN credit_requests r ON r.user_id = g.user_id AND r.outcome ->> 'generation' = g.id
      WHERE g.cache_hit`,
  );
  t.equal(rowsOf.rows.length, users.length * 2);
  t.ok(rowsOf.rows.every((row) => row.frame === frameId && row.answered && row.outcome), "each row shows the cached frame, answers its own request, and its debit's outcome names it");
});

t.test('a repeated request is not charged twice: it is handed back to the ordinary path, which replays it', async (t) => {
  const fixture = await ledgerFixture(t);
  await fixture.tier('lots', { baseQuota: 100 });
  await withCachedFrame(fixture);
  await fixture.user('ada', 'lots');
  const charges = new CachedCharges({ pool: fixture.pool, log: pino({ level: 'silent' }) }, { batchMax: 64, inFlightMax: 2, queueMax: 100 });
  const first = chargeFor('ada', 'same');
  t.equal((await charges.charge(first)).status, 'debited');
  t.same(await charges.charge({ ...first, generation: { ...first.generation, id: randomUUID() } }), { status: 'fallback', reason: 'replayed' });
  t.equal((await fixture.balance('ada')).snapshot, 98);
});

t.test('a short balance is refused and charges nothing; other users in the batch are charged', async (t) => {
  const fixture = await ledgerFixture(t);
  await fixture.tier('lots', { baseQuota: 100 });
  await fixture.tier('none', { baseQuota: 1 });
  await withCachedFrame(fixture);
  await fixture.user('rich', 'lots');
  await fixture.user('poor', 'none');
  const charges = batchesOn(fixture);
  const [rich, poor] = await Promise.all([charges.charge(chargeFor('rich', 'a')), charges.charge(chargeFor('poor', 'a'))]);
  t.equal(rich.status, 'debited');
  t.same(poor, { status: 'insufficient', available: 1 });
  t.equal((await fixture.balance('poor')).snapshot, 1);
  t.same(await fixture.entryTypes('poor'), ['refill 1']);
});

t.test("one account's hits in a batch are debited in batch order: each entry's balance follows the one before", async (t) => {
  const fixture = await ledgerFixture(t);
  await fixture.tier('lots', { baseQuota: 100 });
  await withCachedFrame(fixture);
  await fixture.user('ada', 'lots');
  await fixture.user('bob', 'lots');
  const sizes: number[] = [];
  const charges = batchesOn(fixture, (size) => sizes.push(size));
  const asked = ['r1', 'r2', 'r3', 'r4', 'r5'].flatMap((request, index) => [chargeFor('ada', request, index + 1), chargeFor('bob', request)]);
  const results = await Promise.all(asked.map((charge) => charges.charge(charge)));
  t.same(sizes, [10], 'one statement');
  t.same(results.filter((_, index) => index % 2 === 0).map((result) => result.status === 'debited' && result.balanceAfter), [99, 97, 94, 90, 85]);
  const { rows } = await fixture.pool.query<{ amount: number; balance: number }>(
    `SELECT amount, balance_after AS balance FROM credit_ledger WHERE account_id = 'ada' ORDER BY id`,
  );
  t.same(rows, [{ amount: 100, balance: 100 }, ...[1, 2, 3, 4, 5].map((amount, index) => ({ amount: -amount, balance: [99, 97, 94, 90, 85][index] }))], 'ids ascend in batch order');
  for (const user of ['ada', 'bob']) {
    const balance = await fixture.balance(user);
    t.same([balance.sum, balance.last], [balance.snapshot, balance.snapshot], `${user}: the ledger sums to the snapshot, and its last entry says so too`);
  }
  const { rows: opened } = await fixture.pool.query<{ count: string }>(`SELECT count(*) FROM credit_requests WHERE user_id IN ('ada', 'bob')`);
  t.equal(Number(opened[0]!.count), 10, 'one idempotency record per hit');
});

t.test('an account that cannot afford all its hits is refused the ones it cannot pay for, in batch order', async (t) => {
  const fixture = await ledgerFixture(t);
  await fixture.tier('some', { baseQuota: 5 });
  await withCachedFrame(fixture);
  await fixture.user('ada', 'some');
  const charges = batchesOn(fixture);
  const results = await Promise.all([chargeFor('ada', 'a', 2), chargeFor('ada', 'b', 2), chargeFor('ada', 'c', 2), chargeFor('ada', 'd', 1)].map((charge) => charges.charge(charge)));
  t.same(results, [
    { status: 'debited', ledgerId: (results[0] as { ledgerId: string }).ledgerId, charged: 2, balanceAfter: 3 },
    { status: 'debited', ledgerId: (results[1] as { ledgerId: string }).ledgerId, charged: 2, balanceAfter: 1 },
    { status: 'insufficient', available: 1 },
    { status: 'debited', ledgerId: (results[3] as { ledgerId: string }).ledgerId, charged: 1, balanceAfter: 0 },
  ], 'the 1-credit hit after the refused one still fits');
  t.same(await fixture.entryTypes('ada'), ['refill 5', 'generation -2', 'generation -2', 'generation -1']);
});

t.test("team members' hits in one batch are paid from their pool, one after another", async (t) => {
  const fixture = await ledgerFixture(t);
  await fixture.tier('small', { baseQuota: 5 });
  await withCachedFrame(fixture);
  await fixture.user('ann', 'small', { team: 'crew' });
  await fixture.user('bob', 'small', { team: 'crew' });
  const sizes: number[] = [];
  const charges = batchesOn(fixture, (size) => sizes.push(size));
  const pooled = (user: string, request: string) => chargeFor(user, request, 3);
  const results = await Promise.all([pooled('ann', 'a'), pooled('bob', 'a'), pooled('ann', 'b'), pooled('bob', 'b')].map((charge) => charges.charge(charge)));
  t.same(sizes, [4], 'one statement');
  t.same(results.map((result) => result.status), ['debited', 'debited', 'debited', 'insufficient'], 'floor(10 / 3) hits paid, the fourth refused');
  t.match(await fixture.balance('team:crew'), { sum: 1, last: 1, snapshot: 1 });
});

t.test('the same request twice in one batch is charged once; the copy is answered as a replay, for the ordinary path', async (t) => {
  const fixture = await ledgerFixture(t);
  await fixture.tier('lots', { baseQuota: 100 });
  await withCachedFrame(fixture);
  await fixture.user('ada', 'lots');
  const sizes: number[] = [];
  const charges = batchesOn(fixture, (size) => sizes.push(size));
  const first = chargeFor('ada', 'same');
  const [one, two] = await Promise.all([charges.charge(first), charges.charge({ ...first, generation: { ...first.generation, id: randomUUID() } })]);
  t.same(sizes, [2], 'both in one statement');
  t.equal(one.status, 'debited');
  t.same(two, { status: 'fallback', reason: 'replayed' });
  t.same(await fixture.entryTypes('ada'), ['refill 100', 'generation -2']);
});

/** A background frame of the user's, already shown in answer to (session, request), as the inbox's take leaves it. */
async function answeredFromInbox(fixture: LedgerFixture, userId: string, sessionId: string, requestId: string): Promise<string> {
  const id = randomUUID();
  await fixture.pool.query(
    `INSERT INTO generations (id, user_id, session_id, request_id, purpose, queue, state, charge, provider, model, credits, prompt, prompt_key,
       prompt_hash, variant, genre, mood, style, energy, orientation, width, height, p, frame_id, deadline_at, started_at, finished_at,
       answered_at, answer_session, answer_request)
     VALUES ($1, $2, $3, 'earlier', 'congested', 'background', 'ready', 'none', 'local', 'local-detailed', 0, 'a prompt', 'key', 'hash-0', 0,
       'techno', 'dark', 'nebula', 0.9, 'landscape', 1920, 1080, 1, $4, now(), now(), now(), now(), $3, $5)`,
    [id, userId, sessionId, frameId, requestId],
  );
  return id;
}

t.test("a hit whose request was already answered from the inbox (the same next on another socket) charges nothing and leaves the batch's other hits alone", async (t) => {
  const fixture = await ledgerFixture(t);
  await fixture.tier('lots', { baseQuota: 100 });
  await withCachedFrame(fixture);
  for (const user of ['ada', 'bob', 'cy']) await fixture.user(user, 'lots');
  // cy's account is named once in the batch (decided with the others), ada's twice (one hit after another).
  await answeredFromInbox(fixture, 'cy', 'session-cy', 'r1');
  await answeredFromInbox(fixture, 'ada', 'session-ada', 'r1');
  const sizes: number[] = [];
  const charges = batchesOn(fixture, (size) => sizes.push(size));
  const results = await Promise.all([chargeFor('cy', 'r1'), chargeFor('ada', 'r1'), chargeFor('bob', 'r1'), chargeFor('ada', 'r2')].map((charge) => charges.charge(charge)));
  t.same(sizes, [4], 'one statement');
  t.same(results.map((result) => result.status), ['answered', 'answered', 'debited', 'debited']);
  t.same(await fixture.entryTypes('cy'), ['refill 100'], 'nothing debited for the copy');
  t.same(await fixture.entryTypes('ada'), ['refill 100', 'generation -2'], 'only the other request paid');
  t.same(await fixture.entryTypes('bob'), ['refill 100', 'generation -2']);
  const { rows } = await fixture.pool.query<{ user: string; request: string }>(
    `SELECT user_id AS user, request_id AS request FROM credit_requests ORDER BY user_id, request_id`,
  );
  t.same(rows, [{ user: 'ada', request: 'generation:session-ada:r2' }, { user: 'bob', request: 'generation:session-bob:r1' }], 'no idempotency record for the copies');
  const replayed = await charges.charge(chargeFor('ada', 'r2'));
  t.same(replayed, { status: 'fallback', reason: 'replayed' }, 'a hit that was itself answered is still a replay');
  const [again, third] = await Promise.all([charges.charge(chargeFor('ada', 'r2')), charges.charge(chargeFor('ada', 'r3'))]);
  t.same(again, { status: 'fallback', reason: 'replayed' }, 'also among other hits of its account, one after another');
  t.equal(third.status, 'debited');
});

t.test('two hits of one batch that claim the same (session, request) for different debits: the first is written, the second answered', async (t) => {
  const fixture = await ledgerFixture(t);
  await fixture.tier('lots', { baseQuota: 100 });
  await withCachedFrame(fixture);
  await fixture.user('ada', 'lots');
  await fixture.user('bob', 'lots');
  const bob = chargeFor('bob', 'r1');
  const clash = { ...bob, generation: { ...bob.generation, sessionId: 'session-ada' } };
  const sizes: number[] = [];
  const charges = batchesOn(fixture, (size) => sizes.push(size));
  const results = await Promise.all([chargeFor('ada', 'r1'), clash].map((charge) => charges.charge(charge)));
  t.same(sizes, [2], 'one statement');
  t.same(results.map((result) => result.status), ['debited', 'answered']);
  t.same(await fixture.entryTypes('bob'), ['refill 100']);
});

t.test('an unlimited account is answered at once and charged nothing; an account not yet opened goes to the ordinary path', async (t) => {
  const fixture = await ledgerFixture(t);
  await fixture.tier('all-you-want', { baseQuota: 0, unlimited: true });
  await fixture.tier('lots', { baseQuota: 100 });
  await withCachedFrame(fixture);
  await fixture.user('vip', 'all-you-want');
  await fixture.users.createUser({ id: 'newcomer', tier: 'lots', tz: 'UTC', annual: false, team: null, region: null, anchorDay: 21 });
  const charges = batchesOn(fixture);
  const [vip, newcomer, stranger] = await Promise.all([charges.charge(chargeFor('vip', 'a')), charges.charge(chargeFor('newcomer', 'a')), charges.charge(chargeFor('stranger', 'a'))]);
  t.same(vip, { status: 'debited', ledgerId: null, charged: 0, balanceAfter: null });
  t.same(newcomer, { status: 'fallback', reason: 'prepare' });
  t.same(stranger, { status: 'fallback', reason: 'unknown_user' });
  const { rows } = await fixture.pool.query<{ charge: string; unlimited: boolean }>(
    `SELECT g.charge, (r.outcome ->> 'unlimited')::boolean AS unlimited FROM generations g JOIN credit_requests r ON r.user_id = g.user_id AND r.outcome ->> 'generation' = g.id`,
  );
  t.same(rows, [{ charge: 'none', unlimited: true }], "the unlimited hit's generation and outcome are written; nothing of the others");
  t.same(await fixture.entryTypes('newcomer'), []);
});

t.test('a hit waiting for a move to another tier is decided on the tier moved to', async (t) => {
  const fixture = await ledgerFixture(t);
  await fixture.tier('all-you-want', { baseQuota: 0, unlimited: true });
  await fixture.tier('lots', { baseQuota: 100 });
  await withCachedFrame(fixture);
  await fixture.user('riser', 'lots');
  await fixture.user('faller', 'all-you-want');
  await fixture.ledger.grant('faller', 10, 'gift', null);
  const charges = batchesOn(fixture);
  // Each user moves to the other kind of tier while the batch reads the users, then waits for the locks.
  const [riser, faller] = await fixture.whileTiersMove(['riser', 'faller'], { riser: 'all-you-want', faller: 'lots' }, () =>
    Promise.all([charges.charge(chargeFor('riser', 'a')), charges.charge(chargeFor('faller', 'a'))]),
  );
  t.same(riser, { status: 'debited', ledgerId: null, charged: 0, balanceAfter: null }, 'moved to unlimited: free');
  t.match(faller, { status: 'debited', charged: 2, balanceAfter: 8 }, 'moved off unlimited: paid');
  t.match(await fixture.balance('riser'), { sum: 100, snapshot: 100 });
  t.match(await fixture.balance('faller'), { sum: 8, snapshot: 8 });
});

t.test('a batch that fails is rolled back whole, debits included, and every item takes the ordinary path', async (t) => {
  const fixture = await ledgerFixture(t);
  await fixture.tier('lots', { baseQuota: 100 });
  await withCachedFrame(fixture);
  await fixture.user('ada', 'lots');
  await fixture.user('bob', 'lots');
  const charges = batchesOn(fixture);
  // A frame that does not exist breaks the generation row's foreign key after bob's debit.
  const [ada, bob] = await Promise.all([charges.charge(chargeFor('ada', 'a')), charges.charge({ ...chargeFor('bob', 'b'), frameId: 'missingframe' })]);
  t.same([ada.status, bob.status], ['fallback', 'fallback']);
  t.same(await fixture.entryTypes('ada'), ['refill 100'], 'no debit stayed behind');
  t.same(await fixture.entryTypes('bob'), ['refill 100'], 'no debit stayed behind');
});

t.test('a full queue sends the hit to the ordinary path instead of waiting', async (t) => {
  const fixture = await ledgerFixture(t);
  const charges = new CachedCharges({ pool: fixture.pool, log: pino({ level: 'silent' }) }, { batchMax: 1, inFlightMax: 1, queueMax: 0 });
  t.same(await charges.charge(chargeFor('nobody', 'x')), { status: 'fallback', reason: 'queue full' });
});

t.test('hits on accounts named once in a batch are decided together, each as credit_debit decides it one after another', async (t) => {
  const fixture = await ledgerFixture(t);
  await fixture.tier('lots', { baseQuota: 20 });
  await fixture.tier('little', { baseQuota: 3 });
  await fixture.tier('all-you-want', { baseQuota: 0, unlimited: true });
  await withCachedFrame(fixture);
  for (const user of ['solo-a', 'solo-b', 'solo-c', 'solo-d', 'late', 'drifted']) await fixture.user(user, 'lots');
  await fixture.user('poor', 'little');
  await fixture.user('vip', 'all-you-want');
  await fixture.tier('nothing', { baseQuota: 0 });
  await fixture.user('crew-1', 'lots', { team: 'crew' });
  await fixture.user('crew-2', 'lots', { team: 'crew' });
  await fixture.user('zero', 'nothing');
  // A user whose account is not open yet, and a team member not yet in the team's pool.
  await fixture.users.createUser({ id: 'newcomer', tier: 'lots', tz: 'UTC', annual: false, team: null, region: null, anchorDay: 21 });
  await fixture.users.createUser({ id: 'outsider', tier: 'lots', tz: 'UTC', annual: false, team: 'crew', region: null, anchorDay: 21 });
  // Earlier requests to replay or contradict, an account whose cycle has ended, one that drifted.
  for (const amount of [2, 1]) t.equal((await fixture.ledger.debit({ userId: 'solo-a', kind: 'generation', requestId: `s:r${amount}`, amount })).status, 'debited');
  await fixture.pool.query(`UPDATE user_credits SET cycle_end = cycle_start + interval '1 second' WHERE account_id = 'late'`);
  await fixture.pool.query(`UPDATE user_credits SET available = available + 1 WHERE account_id = 'drifted'`);
  const users = ['solo-a', 'solo-b', 'solo-c', 'solo-d', 'late', 'drifted', 'poor', 'vip', 'crew-1', 'crew-2', 'zero', 'newcomer', 'outsider', 'stranger'];
  const now = fixture.clock.nowMs;

  type Answer = { status: string; charged: number; balance: number | null; available: number | null };
  const answersOf = (rows: Array<{ status: string; charged: number; balance_after: number | null; available: number | null }>): Answer[] =>
    rows.map((row) => ({ status: row.status, charged: row.charged, balance: row.balance_after, available: row.available }));
  /**
   * Runs `work` in a transaction that is rolled back, and reads before the rollback every snapshot,
   * ledger entry and idempotency record (ids and generation names left out: sequences are not
   * rolled back, and only the batch names generations).
   */
  async function rolledBack(work: (client: import('pg').PoolClient) => Promise<Answer[]>) {
    const client = await fixture.pool.connect();
    try {
      await client.query('BEGIN');
      const answers = await work(client);
      const snapshots = await client.query(`SELECT account_id, available, used, rollover, version FROM user_credits ORDER BY account_id`);
      const entries = await client.query(
        `SELECT account_id, user_id, type, amount, balance_after, request_id, details FROM credit_ledger ORDER BY account_id, id`,
      );
      const requests = await client.query(
        `SELECT user_id, request_id, kind, fingerprint, ledger_id IS NULL AS free, outcome - 'generation' - 'ledgerId' AS outcome
           FROM credit_requests ORDER BY user_id, request_id`,
      );
      return { answers, snapshots: snapshots.rows, entries: entries.rows, requests: requests.rows };
    } finally {
      await client.query('ROLLBACK');
      client.release();
    }
  }

  const verdicts = new Set<string>();
  const hit = fc.record({ user: fc.constantFrom(...users), request: fc.integer({ min: 1, max: 4 }), amount: fc.integer({ min: 1, max: 5 }) });
  await fc.assert(
    fc.asyncProperty(fc.array(hit, { minLength: 1, maxLength: 12 }), async (hits) => {
      const items = hits.map(({ user, request, amount }) => {
        const charge = chargeFor(user, `r${request}`, amount);
        const debit = debitCallOf({ userId: user, kind: 'generation', requestId: `s:r${request}`, amount, parameters: {} });
        return { user, request: debit.requestId, amount, fingerprint: debit.fingerprint, details: {}, generation: charge.generation, frameId };
      });
      const batched = await rolledBack(async (client) => {
        const { rows } = await client.query(`SELECT * FROM charge_cached_frames($1::jsonb, to_timestamp($2::float8 / 1000)) ORDER BY item`, [JSON.stringify(items), now]);
        return answersOf(rows);
      });
      const oneByOne = await rolledBack(async (client) => {
        const answers: Answer[] = [];
        for (const item of items) {
          const { rows } = await client.query(`SELECT * FROM credit_debit($1, $2, 'generation', $3, $4, '{}'::jsonb, to_timestamp($5::float8 / 1000))`, [
            item.user, item.request, item.amount, item.fingerprint, now,
          ]);
          answers.push(...answersOf(rows));
        }
        return answers;
      });
      assert.deepStrictEqual(batched, oneByOne);
      for (const answer of batched.answers) verdicts.add(answer.status);
    }),
    // A fixed seed: the same hundred batches every run, so the verdicts below are all reached.
    { numRuns: 100, seed: 20261122 },
  );
  t.same([...verdicts].sort(), ['debited', 'insufficient', 'mismatch', 'prepare', 'replayed', 'unknown_user'], 'every verdict was reached');
});

t.test('batches naming the same accounts in opposite orders both commit: every batch takes its locks in one order', async (t) => {
  const fixture = await ledgerFixture(t);
  await fixture.tier('lots', { baseQuota: 100 });
  await withCachedFrame(fixture);
  const users = Array.from({ length: 8 }, (_, index) => `order-${index}`);
  for (const user of users) await fixture.user(user, 'lots');
  const itemsFor = (names: string[], request: string) =>
    names.map((user) => {
      const charge = chargeFor(user, request);
      return { user, request: charge.debit.requestId, amount: charge.debit.amount, fingerprint: charge.debit.fingerprint, details: {}, generation: charge.generation, frameId };
    });
  const batch = (items: unknown[]) => fixture.pool.query<{ status: string }>(`SELECT status FROM charge_cached_frames($1::jsonb, now())`, [JSON.stringify(items)]);
  for (let round = 0; round < 3; round += 1) {
    // A third session holds one account in the middle, so both batches are under way and waiting
    // when it lets go: batches locking in their own item order would now deadlock.
    const holder = await fixture.pool.connect();
    await holder.query('BEGIN');
    await holder.query(accountLockStatement, ['order-3']);
    const both = Promise.all([batch(itemsFor(users, `f${round}`)), batch(itemsFor([...users].reverse(), `b${round}`))]);
    await untilWaitingForLocks(fixture.pool, 2);
    await holder.query('COMMIT');
    holder.release();
    const [forward, backward] = await both;
    t.ok([...forward.rows, ...backward.rows].every((row) => row.status === 'debited'), `round ${round}: both batches debited every hit`);
  }
  for (const user of users) t.match(await fixture.balance(user), { sum: 88, last: 88, snapshot: 88 });
});
