import t from 'tap';
import { Ledger, unprepared } from '../../src/ledger/ledger.js';
import { limits } from '../../src/limits.js';
import { days, ledgerFixture } from '../support/ledger.js';

t.test('a debit takes credits once per request id and reports the balance', async (t) => {
  const f = await ledgerFixture(t);
  await f.tier('small', { baseQuota: 20 });
  await f.user('ann', 'small');
  const first = await f.ledger.debit({ userId: 'ann', kind: 'generation', requestId: 'r1', amount: 3 });
  t.match(first, { status: 'debited', replayed: false, charged: 3, balanceAfter: 17 });
  const again = await f.ledger.debit({ userId: 'ann', kind: 'generation', requestId: 'r1', amount: 3 });
  t.match(again, { status: 'debited', replayed: true, charged: 3, balanceAfter: 17 });
  t.match(await f.balance('ann'), { sum: 17, last: 17, snapshot: 17 });
  t.match(await f.ledger.credits('ann'), { available: 17, used: 3, ledgerBalance: 17 });
});

t.test('the same request id with other parameters is refused and debits nothing', async (t) => {
  const f = await ledgerFixture(t);
  await f.tier('small', { baseQuota: 20 });
  await f.user('ann', 'small');
  await f.ledger.debit({ userId: 'ann', kind: 'burst', requestId: 'b', amount: 5 });
  t.same(await f.ledger.debit({ userId: 'ann', kind: 'burst', requestId: 'b', amount: 6 }), { status: 'mismatch' });
  t.same(await f.ledger.debit({ userId: 'ann', kind: 'burst', requestId: 'b', amount: 5, parameters: { minutes: 30 } }), { status: 'mismatch' });
  t.match(await f.balance('ann'), { sum: 15, snapshot: 15 });
});

t.test('a debit larger than the balance is refused and charges nothing', async (t) => {
  const f = await ledgerFixture(t);
  await f.tier('small', { baseQuota: 4 });
  await f.user('ann', 'small');
  t.same(await f.ledger.debit({ userId: 'ann', kind: 'burst', requestId: 'b', amount: 5 }), { status: 'insufficient', available: 4, required: 5 });
  t.match(await f.balance('ann'), { sum: 4, snapshot: 4 });
  t.match(await f.ledger.debit({ userId: 'ann', kind: 'burst', requestId: 'b2', amount: 4 }), { status: 'debited', balanceAfter: 0 });
});

t.test('work inside the debit commits with it, or rolls it back', async (t) => {
  const f = await ledgerFixture(t);
  await f.tier('small', { baseQuota: 20 });
  await f.user('ann', 'small');
  await f.pool.query('CREATE TABLE side_effects (note text)');
  await t.rejects(
    f.ledger.debit({ userId: 'ann', kind: 'generation', requestId: 'g1', amount: 2 }, async (client) => {
      await client.query(`INSERT INTO side_effects VALUES ('queued')`);
      throw new Error('queue unavailable');
    }),
    { message: 'queue unavailable' },
  );
  t.match(await f.balance('ann'), { sum: 20, snapshot: 20 }, 'no debit');
  t.equal((await f.pool.query('SELECT * FROM side_effects')).rowCount, 0, 'no side effect');
  const ok = await f.ledger.debit({ userId: 'ann', kind: 'generation', requestId: 'g1', amount: 2 }, async (client) => {
    await client.query(`INSERT INTO side_effects VALUES ('queued')`);
    return { job: 'j1' };
  });
  t.match(ok, { status: 'debited', outcome: { job: 'j1', charged: 2 } });
  t.equal((await f.pool.query('SELECT * FROM side_effects')).rowCount, 1);
});

t.test('an outcome known before the debit is stored with its record and replayed with it, under the debit\'s own facts', async (t) => {
  const f = await ledgerFixture(t);
  await f.tier('small', { baseQuota: 20 });
  await f.tier('open', { baseQuota: 0, unlimited: true });
  await f.user('ann', 'small');
  await f.user('bea', 'open');
  const request = { userId: 'ann', kind: 'generation' as const, requestId: 'g1', amount: 2, outcome: { generation: 'gen-1', charged: 99 } };
  const first = await f.ledger.debit(request, async () => undefined);
  t.match(first, { status: 'debited', replayed: false, charged: 2, outcome: { generation: 'gen-1', charged: 2, balanceAfter: 18 } });
  const stored = await f.pool.query(`SELECT outcome FROM credit_requests WHERE request_id = 'generation:g1'`);
  t.match(stored.rows[0], { outcome: { generation: 'gen-1', charged: 2 } });
  const again = await f.ledger.debit({ ...request, outcome: { generation: 'gen-2' } });
  t.match(again, { status: 'debited', replayed: true, outcome: { generation: 'gen-1' } }, 'a retry is answered with the first outcome');
  t.match(await f.ledger.debit({ userId: 'bea', kind: 'generation', requestId: 'g1', amount: 2, outcome: { generation: 'gen-3' } }), {
    status: 'debited', charged: 0, outcome: { generation: 'gen-3', unlimited: true },
  }, 'an unlimited user\'s record names it too');
  await t.rejects(
    f.pool.query(`SELECT * FROM credit_debit('ann', 'generation:g9', 'generation', 1, 'fp', '{}'::jsonb, now(), '["gen-9"]'::jsonb)`),
    /outcome is a JSON object/,
    'an outcome that is not an object is refused',
  );
  t.match(await f.balance('ann'), { sum: 18, snapshot: 18 });
});

t.test("one user's debits take turns on a node: a queue of them holds one pool client, and other users' debits go ahead", async (t) => {
  const f = await ledgerFixture(t);
  await f.tier('big', { baseQuota: 100 });
  await f.user('dj', 'big');
  await f.user('other', 'big');
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  let entered!: () => void;
  const holding = new Promise<void>((resolve) => (entered = resolve));
  let inside = 0;
  // The first debit holds its transaction (and the account's lock) open until the gate opens.
  const first = f.ledger.debit({ userId: 'dj', kind: 'generation', requestId: 'g0', amount: 1 }, async () => {
    inside += 1;
    entered();
    await gate;
  });
  await holding;
  // More debits of the same user than the pool has clients.
  const queued = Array.from({ length: limits.databasePoolSize + 2 }, (_, index) =>
    f.ledger.debit({ userId: 'dj', kind: 'generation', requestId: `g${index + 1}`, amount: 1 }, async () => {
      inside += 1;
    }),
  );
  const other = f.ledger.debit({ userId: 'other', kind: 'generation', requestId: 'o1', amount: 1 });
  const timeout = new Promise<'stuck'>((resolve) => setTimeout(() => resolve('stuck'), 10_000).unref());
  t.match(await Promise.race([other, timeout]), { status: 'debited', balanceAfter: 99 }, "another user's debit is not stuck behind the queue");
  t.equal(inside, 1, 'the queued debits of the user have not started');
  t.equal(f.pool.totalCount - f.pool.idleCount, 1, 'and hold no client while they wait');
  release();
  const results = await Promise.all([first, ...queued]);
  t.same(results.map((result) => result.status), results.map(() => 'debited'));
  t.match(await f.balance('dj'), { sum: 100 - results.length, snapshot: 100 - results.length });
});

t.test('a debit is refunded exactly once, with the debit in its details', async (t) => {
  const f = await ledgerFixture(t);
  await f.tier('small', { baseQuota: 20 });
  await f.user('ann', 'small');
  const debit = await f.ledger.debit({ userId: 'ann', kind: 'generation', requestId: 'g', amount: 3 });
  const ledgerId = debit.status === 'debited' ? debit.ledgerId! : '';
  const reasons = ['provider failed', 'provider failed', 'again'];
  const refunds = await Promise.all(reasons.map((reason) => f.ledger.refund(ledgerId, reason)));
  t.equal(refunds.filter((refund) => refund?.replayed === false).length, 1);
  // The three race: the one that refunded gives the entry its reason, the others replay it.
  const winner = reasons[refunds.findIndex((refund) => refund?.replayed === false)];
  t.equal(new Set(refunds.map((refund) => refund?.refundId)).size, 1);
  t.match(await f.balance('ann'), { sum: 20, snapshot: 20 });
  t.match(await f.ledger.credits('ann'), { used: 0 });
  const entries = await f.ledger.entries('ann', 10);
  t.match(entries?.[0], { type: 'refund', amount: 3, details: { debitId: ledgerId, reason: winner } });
  t.equal(await f.ledger.refund(entries![0]!.id, 'refund of a refund'), null, 'only debits can be refunded');
});

t.test('grants are idempotent by id', async (t) => {
  const f = await ledgerFixture(t);
  await f.user('ann', 'basic');
  t.match(await f.ledger.grant('ann', 50, 'promo-1', 'welcome'), { status: 'granted', replayed: false, balanceAfter: 250 });
  t.match(await f.ledger.grant('ann', 50, 'promo-1', 'welcome'), { status: 'granted', replayed: true, balanceAfter: 250 });
  t.same(await f.ledger.grant('ann', 60, 'promo-1', null), { status: 'mismatch' });
  t.match(await f.balance('ann'), { sum: 250, snapshot: 250 });
  t.same(await f.ledger.grant('nobody', 5, 'x', null), { status: 'unknown_user' });
});

t.test('a grant that would take a balance past its limit is refused and writes nothing', async (t) => {
  const f = await ledgerFixture(t);
  await f.user('ann', 'basic');
  t.match(await f.ledger.grant('ann', limits.creditBalanceMax - 200, 'to-the-brim', null), { status: 'granted', balanceAfter: limits.creditBalanceMax });
  t.same(await f.ledger.grant('ann', 1, 'one-more', null), { status: 'over_limit', available: limits.creditBalanceMax });
  t.match(await f.balance('ann'), { sum: limits.creditBalanceMax, snapshot: limits.creditBalanceMax });
  t.match(await f.ledger.grant('ann', 1, 'one-more', null), { status: 'over_limit' }, 'its id was not used up');
});

t.test('unlimited users are never debited, but their requests are recorded', async (t) => {
  const f = await ledgerFixture(t);
  await f.user('whale', 'unlimited');
  t.match(await f.ledger.debit({ userId: 'whale', kind: 'generation', requestId: 'g', amount: 3 }), { status: 'debited', charged: 0, ledgerId: null });
  t.match(await f.ledger.debit({ userId: 'whale', kind: 'generation', requestId: 'g', amount: 3 }), { replayed: true, charged: 0 });
  t.equal((await f.pool.query(`SELECT * FROM credit_requests WHERE user_id = 'whale'`)).rowCount, 1);
  t.equal((await f.pool.query(`SELECT * FROM credit_ledger WHERE user_id = 'whale'`)).rowCount, 0);
});

t.test('a debit waiting for a move to another tier is decided on the tier moved to', async (t) => {
  const f = await ledgerFixture(t);
  await f.user('riser', 'basic');
  await f.user('faller', 'unlimited');
  await f.ledger.grant('faller', 10, 'gift', null);
  const debitOf = (userId: string) => f.ledger.debit({ userId, kind: 'generation', requestId: 'during-change', amount: 3 });
  t.match(await f.whileTiersMove(['riser'], { riser: 'unlimited' }, () => debitOf('riser')), { status: 'debited', charged: 0, ledgerId: null }, 'moved to unlimited: free');
  t.match(await f.balance('riser'), { sum: 200, snapshot: 200 });
  t.match(await f.whileTiersMove(['faller'], { faller: 'basic' }, () => debitOf('faller')), { status: 'debited', charged: 3 }, 'moved off unlimited: paid');
  t.match(await f.balance('faller'), { sum: 7, snapshot: 7 });
});

t.test('a cycle end rolls over, decays and refills as the worked example says', async (t) => {
  const f = await ledgerFixture(t, '2026-11-01T12:00:00Z');
  await f.user('ann', 'basic');
  await f.ledger.grant('ann', 500, 'big-gift', null);
  const before = await f.ledger.credits('ann');
  t.match(before, { available: 700, cycleStart: '2026-11-01T00:00:00.000Z', cycleEnd: '2026-12-01T00:00:00.000Z' });
  t.same(await f.ledger.runCycles(Date.parse('2026-12-01T00:00:00Z')), { accounts: 1, cyclesClosed: 1, failed: [] });
  t.same((await f.entryTypes('ann')).slice(-4), ['expire -700', 'rollover 600', 'decay -20', 'refill 200']);
  f.clock.nowMs = Date.parse('2026-12-02T00:00:00Z');
  t.match(await f.ledger.credits('ann'), { available: 780, used: 0, rollover: 580, cycleStart: '2026-12-01T00:00:00.000Z', cycleEnd: '2027-01-01T00:00:00.000Z', ledgerBalance: 780 });
  const rollover = (await f.ledger.entries('ann', 10))!.find((entry) => entry.type === 'rollover');
  t.match(rollover?.details, { unused: 700, carried: 600 });
  t.same(await f.ledger.runCycles(Date.parse('2026-12-01T00:00:00Z')), { accounts: 0, cyclesClosed: 0, failed: [] }, 'running again changes nothing');
  t.match(await f.balance('ann'), { sum: 780, snapshot: 780 });
});

/** Makes an account's next cycle impossible to compute: its time zone is one this runtime does not know. */
async function unknownZone(f: Awaited<ReturnType<typeof ledgerFixture>>, accountId: string): Promise<void> {
  await f.pool.query(`UPDATE user_credits SET tz = 'Nowhere/Atlantis' WHERE account_id = $1`, [accountId]);
}

t.test('an account whose cycle cannot be closed is named, and the accounts after it are still closed', async (t) => {
  const f = await ledgerFixture(t, '2026-11-01T12:00:00Z');
  for (const user of ['ann', 'bob', 'cara']) await f.user(user, 'basic');
  await unknownZone(f, 'bob');
  t.same(await f.ledger.runCycles(Date.parse('2026-12-01T00:00:00Z')), { accounts: 3, cyclesClosed: 2, failed: ['bob'] });
  for (const closed of ['ann', 'cara']) t.match(await f.ledger.credits(closed), { cycleStart: '2026-12-01T00:00:00.000Z' }, closed);
  t.same(await f.entryTypes('bob'), ['refill 200'], "bob's account is as it was");
});

t.test('a cycle run stops with an error once as many accounts failed as an outage would make fail', async (t) => {
  const f = await ledgerFixture(t, '2026-11-01T12:00:00Z');
  for (let index = 0; index < limits.cycleFailuresMax + 5; index += 1) {
    await f.user(`lost-${String(index).padStart(2, '0')}`, 'basic');
    await unknownZone(f, `lost-${String(index).padStart(2, '0')}`);
  }
  await t.rejects(f.ledger.runCycles(Date.parse('2026-12-01T00:00:00Z')), { message: `credit cycles stopped after ${limits.cycleFailuresMax} accounts failed` });
});

t.test('a debit after the cycle ended closes the cycle first, even without the job', async (t) => {
  const f = await ledgerFixture(t, '2026-11-01T12:00:00Z');
  await f.user('ann', 'basic');
  await f.ledger.debit({ userId: 'ann', kind: 'generation', requestId: 'g1', amount: 50 });
  f.clock.nowMs += days(65);
  const debit = await f.ledger.debit({ userId: 'ann', kind: 'generation', requestId: 'g2', amount: 1 });
  // Nov: 150 unused → rollover 150, refill 200 = 350; Dec: 350 unused → 350 carried, no decay (≤ 400), + 200 = 550.
  t.match(debit, { status: 'debited', balanceAfter: 549 });
  t.equal((await f.pool.query(`SELECT * FROM credit_cycles WHERE account_id = 'ann'`)).rowCount, 2);
});

t.test('annual users roll over up to six base quotas', async (t) => {
  const f = await ledgerFixture(t, '2026-11-01T12:00:00Z');
  await f.user('yearly', 'basic', { annual: true });
  await f.user('monthly', 'basic');
  await f.ledger.grant('yearly', 1800, 'g', null);
  await f.ledger.grant('monthly', 1800, 'g', null);
  await f.ledger.runCycles(Date.parse('2026-12-01T00:00:00Z'));
  const yearly = (await f.pool.query(`SELECT carried, decay, rollover FROM credit_cycles WHERE account_id = 'yearly'`)).rows[0];
  const monthly = (await f.pool.query(`SELECT carried, decay, rollover FROM credit_cycles WHERE account_id = 'monthly'`)).rows[0];
  t.same(yearly, { carried: 1200, decay: 80, rollover: 1120 });
  t.same(monthly, { carried: 600, decay: 20, rollover: 580 });
});

t.test('an upgrade refills the difference at once; a downgrade clamps the rollover with a recorded entry', async (t) => {
  const f = await ledgerFixture(t, '2026-11-01T12:00:00Z');
  await f.tier('mini', { baseQuota: 50 });
  await f.user('ann', 'premium');
  await f.ledger.grant('ann', 2000, 'g', null);
  await f.ledger.runCycles(Date.parse('2026-12-01T00:00:00Z'));
  f.clock.nowMs = Date.parse('2026-12-10T00:00:00Z');
  const carried = await f.ledger.credits('ann');
  // 2600 unused, cap 1800 → carried 1800, decay floor(0.1 × 600) = 60 → rollover 1740, + 600.
  t.match(carried, { rollover: 1740, available: 2340 });
  t.match(await f.ledger.changeTier('ann', 'mini'), { status: 'changed', refilled: 0, clamped: 1740 - 150 });
  t.match(await f.ledger.credits('ann'), { rollover: 150, available: 2340 - 1590 });
  const downgrade = (await f.ledger.entries('ann', 1))![0]!;
  t.match(downgrade, { type: 'downgrade', amount: -1590, details: { before: { tier: 'premium', rollover: 1740 }, after: { tier: 'mini', rollover: 150 } } });
  // This cycle already refilled premium's 600, so moving up to basic refills nothing more.
  t.match(await f.ledger.changeTier('ann', 'basic'), { status: 'changed', refilled: 0, clamped: 0 });
  t.match(await f.balance('ann'), { sum: 750, snapshot: 750 });
  await f.tier('huge', { baseQuota: 1000 });
  t.match(await f.ledger.changeTier('ann', 'huge'), { status: 'changed', refilled: 400 }, 'only above the 600 already refilled');
  t.same(await f.ledger.changeTier('ann', 'no-such-tier'), { status: 'unknown_tier' });
});

t.test('team members spend from one shared pool', async (t) => {
  const f = await ledgerFixture(t);
  await f.tier('small', { baseQuota: 10 });
  await f.user('ann', 'small', { team: 'crew' });
  await f.user('bob', 'small', { team: 'crew' });
  t.match(await f.ledger.credits('ann'), { accountId: 'team:crew', kind: 'team', available: 20 });
  const debits = await Promise.all(
    Array.from({ length: 12 }, (_, index) => f.ledger.debit({ userId: index % 2 === 0 ? 'ann' : 'bob', kind: 'burst', requestId: `b${index}`, amount: 3 })),
  );
  t.equal(debits.filter((debit) => debit.status === 'debited').length, 6, 'floor(20 / 3) succeed');
  t.match(await f.balance('team:crew'), { sum: 2, snapshot: 2 });
  t.match(await f.ledger.credits('bob'), { available: 2 });
});

t.test("a team pool too large for the ledger's 32-bit amounts is held to the account's quota and cap, and its cycles still close", async (t) => {
  const f = await ledgerFixture(t);
  await f.tier('most', { baseQuota: limits.creditQuotaPerMemberMax });
  // 220 members at the largest quota would bring 2.2 billion credits a month: past 2,147,483,647.
  for (let index = 0; index < 220; index += 1) await f.user(`m${index}`, 'most', { team: 'giants' });
  const full = limits.creditQuotaPerAccountMax;
  t.match(await f.balance('team:giants'), { sum: full, last: full, snapshot: full }, 'joining refills stop at the account quota');
  const { rows } = await f.pool.query<{ count: string }>(`SELECT count(*) FROM credit_ledger WHERE account_id = 'team:giants' AND type = 'refill'`);
  t.equal(Number(rows[0]!.count), full / limits.creditQuotaPerMemberMax, 'members past it join without a refill');
  const openings: number[] = [];
  for (const month of ['2026-12-22', '2027-01-22', '2027-02-22']) {
    f.clock.nowMs = Date.parse(`${month}T00:00:00Z`);
    t.match(await f.ledger.runCycles(f.clock.nowMs), { cyclesClosed: 1, failed: [] }, `the cycle before ${month} closes`);
    openings.push((await f.balance('team:giants')).snapshot);
  }
  // Rolled over: at most creditBalanceMax (the pool's cap of 3 quotas a member, held), plus a refill of the account quota.
  t.same(openings, [2 * full, limits.creditBalanceMax + full, limits.creditBalanceMax + full]);
  t.match(await f.balance('team:giants'), { sum: openings[2], last: openings[2] });
});

t.test("an entry that would take a balance past the ledger's 32-bit integers is refused before anything is written", async (t) => {
  const f = await ledgerFixture(t);
  await f.user('ann', 'basic');
  const debit = await f.ledger.debit({ userId: 'ann', kind: 'generation', requestId: 'g1', amount: 100 });
  t.equal(debit.status, 'debited');
  // A balance written past the admin API's bounds: 50 below the largest an integer column holds.
  const top = 2 ** 31 - 1 - 50;
  await f.pool.query(`INSERT INTO credit_ledger (account_id, user_id, type, amount, balance_after) VALUES ('ann', 'ann', 'grant', $1::int, $2::int)`, [top - 100, top]);
  await f.pool.query(`UPDATE user_credits SET available = $1::int WHERE account_id = 'ann'`, [top]);
  await t.rejects(f.ledger.refund(debit.status === 'debited' ? debit.ledgerId! : '', 'failed'), { message: /past the ledger's 32-bit balances/ });
  t.match(await f.balance('ann'), { sum: top, snapshot: top }, 'nothing written');
});

t.test('reconcile finds and repairs snapshots that disagree with the ledger', async (t) => {
  const f = await ledgerFixture(t);
  await f.user('ann', 'basic');
  await f.user('bob', 'basic');
  await f.pool.query(`UPDATE user_credits SET available = available + 7 WHERE account_id = 'ann'`);
  const report = await f.ledger.reconcile();
  t.ok(report.checked >= 2);
  t.match(report.drifted, [{ accountId: 'ann', snapshot: { available: 207 }, ledger: { available: 200 } }]);
  t.match(await f.balance('ann'), { sum: 200, snapshot: 200 });
  t.same((await f.ledger.reconcile()).drifted, []);
});

t.test('a debit trusts the ledger over a drifted snapshot', async (t) => {
  const f = await ledgerFixture(t);
  await f.tier('small', { baseQuota: 5 });
  await f.user('ann', 'small');
  await f.pool.query(`UPDATE user_credits SET available = 500 WHERE account_id = 'ann'`);
  t.match(await f.ledger.debit({ userId: 'ann', kind: 'burst', requestId: 'b', amount: 10 }), { status: 'insufficient', available: 5 });
  t.equal(f.drifts(), 1);
  t.match(await f.balance('ann'), { snapshot: 5 });
});

t.test('the database refuses zero amounts, negative balances and a second refund', async (t) => {
  const f = await ledgerFixture(t);
  await f.user('ann', 'basic');
  await t.rejects(f.pool.query(`INSERT INTO credit_ledger (account_id, type, amount, balance_after) VALUES ('ann', 'grant', 0, 200)`));
  await t.rejects(f.pool.query(`INSERT INTO credit_ledger (account_id, type, amount, balance_after) VALUES ('ann', 'grant', -300, -100)`));
  await t.rejects(f.pool.query(`INSERT INTO credit_ledger (account_id, type, amount, balance_after) VALUES ('ann', 'bonus', 5, 205)`));
  await f.pool.query(`INSERT INTO credit_refunds (debit_id, refund_id) VALUES (1, 2)`);
  await t.rejects(f.pool.query(`INSERT INTO credit_refunds (debit_id, refund_id) VALUES (1, 3)`));
});

t.test('monthly ledger partitions exist ahead of time', async (t) => {
  const f = await ledgerFixture(t);
  t.equal(await f.ledger.ensurePartitions(3), 0, 'the migration already created them');
  const { rows } = await f.pool.query<{ name: string }>(`SELECT inhrelid::regclass::text AS name FROM pg_inherits WHERE inhparent = 'credit_ledger'::regclass ORDER BY 1`);
  t.ok(rows.length >= 5, `${rows.length} partitions`);
  t.ok(rows.some((row) => row.name === 'credit_ledger_default'));
});

t.test('extending a burst adds fifteen minutes to the later of now and its end', async (t) => {
  const f = await ledgerFixture(t);
  await f.user('ann', 'basic');
  const client = await f.pool.connect();
  t.teardown(() => client.release());
  const first = Date.parse(await Ledger.extendBurst(client, 'ann', 15));
  const second = Date.parse(await Ledger.extendBurst(client, 'ann', 15));
  t.ok(Math.abs(second - first - 15 * 60_000) < 1000);
});

t.test('switching tiers back and forth within a cycle refills the higher quota only once', async (t) => {
  const f = await ledgerFixture(t);
  await f.user('ann', 'basic');
  await f.ledger.changeTier('ann', 'premium');
  await f.ledger.changeTier('ann', 'basic');
  await f.ledger.changeTier('ann', 'premium');
  t.match(await f.ledger.credits('ann'), { available: 600 });
  t.same((await f.entryTypes('ann')), ['refill 200', 'refill 400']);
});

t.test('concurrent identical upgrades refill once', async (t) => {
  const f = await ledgerFixture(t);
  await f.user('ann', 'basic');
  await Promise.all([f.ledger.changeTier('ann', 'premium'), f.ledger.changeTier('ann', 'premium'), f.ledger.changeTier('ann', 'premium')]);
  t.match(await f.ledger.credits('ann'), { available: 600 });
  t.match(await f.balance('ann'), { sum: 600, snapshot: 600 });
});

t.test('a member joining after the pool cycle ended adds to the new cycle', async (t) => {
  const f = await ledgerFixture(t, '2026-11-05T12:00:00Z');
  await f.tier('small', { baseQuota: 10 });
  await f.user('ann', 'small', { team: 'late', anchorDay: 5 });
  f.clock.nowMs = Date.parse('2026-12-06T12:00:00Z');
  await f.user('bob', 'small', { team: 'late', anchorDay: 5 });
  // November closes with ann alone (10 unused → rollover 10, refill 10); bob then joins December.
  t.match(await f.ledger.credits('bob'), { available: 30, rollover: 10, cycleStart: '2026-12-05T00:00:00.000Z' });
  t.same((await f.ledger.reconcile()).drifted, []);
});

t.test('reconcile counts a refund of an earlier cycle debit as no use of this one', async (t) => {
  const f = await ledgerFixture(t, '2026-11-01T12:00:00Z');
  await f.user('ann', 'basic');
  const debit = await f.ledger.debit({ userId: 'ann', kind: 'generation', requestId: 'g', amount: 7 });
  f.clock.nowMs = Date.parse('2026-12-02T00:00:00Z');
  await f.ledger.runCycles(f.clock.nowMs);
  await f.ledger.debit({ userId: 'ann', kind: 'generation', requestId: 'g2', amount: 3 });
  await f.ledger.refund(debit.status === 'debited' ? debit.ledgerId! : '', 'late failure');
  t.match(await f.ledger.credits('ann'), { used: 3 });
  t.same((await f.ledger.reconcile()).drifted, []);
});

t.test("many users' views are read in one query, each user's own, opening accounts that need it", async (t) => {
  const f = await ledgerFixture(t);
  await f.tier('small', { baseQuota: 20 });
  await f.user('ann', 'small');
  await f.user('bob', 'small', { team: 'crew' });
  await f.user('cyd', 'small');
  await f.ledger.debit({ userId: 'ann', kind: 'generation', requestId: 'r1', amount: 3 });
  const views = await f.ledger.views(['ann', 'bob', 'cyd', 'nobody']);
  t.same([...views.keys()].sort(), ['ann', 'bob', 'cyd'], 'a user that does not exist is missing');
  t.match(views.get('ann'), { accountId: 'ann', kind: 'user', available: 17, used: 3 });
  t.match(views.get('bob'), { accountId: 'team:crew', kind: 'team', available: 20 });
  t.match(views.get('cyd'), { accountId: 'cyd', available: 20, used: 0 }, 'an account never opened is opened first');
  t.same(await f.ledger.view('ann'), views.get('ann'), 'one user is the same read');
});

t.test('one read of views says which accounts need work first, and does none of it', async (t) => {
  const f = await ledgerFixture(t);
  await f.tier('small', { baseQuota: 20 });
  await f.user('ann', 'small');
  await f.users.createUser({ id: 'new', tier: 'small', tz: 'UTC', annual: false, team: null, region: null, anchorDay: 21 });
  const read = await f.ledger.readViews(['ann', 'new', 'nobody']);
  t.match(read.get('ann'), { accountId: 'ann', available: 20 });
  t.equal(read.get('new'), unprepared, 'an account never opened needs work');
  t.notOk(read.has('nobody'));
  t.equal((await f.balance('new')).snapshot, null, 'the read opened nothing');
  t.match(await f.ledger.view('new'), { accountId: 'new', available: 20 }, 'a view of it opens it');
});
