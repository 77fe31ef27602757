import t from 'tap';
import { CreditViewCache, LedgerCreditView } from '../../src/credits/view.js';
import { unprepared, type AccountView } from '../../src/ledger/ledger.js';
import { limits } from '../../src/limits.js';
import type { UserAccount } from '../../src/users/directory.js';

const nowMs = Date.parse('2026-11-21T12:00:00Z');
const account = { id: 'ada', team: null, tier: 'basic', tz: 'UTC' } as unknown as UserAccount;
const viewOf = (available: number, extra: Partial<AccountView> = {}): AccountView => ({
  accountId: 'ada', kind: 'user', available, used: 0, rollover: 0, cycleStart: '2026-11-01T00:00:00.000Z', cycleEnd: '2026-12-01T00:00:00.000Z',
  unlimited: false, burstUntil: null, burstPrice: 5, ...extra,
} as AccountView);

/**
 * A ledger whose view of every user is whatever `current` says, counting reads (one per query,
 * whatever the users asked for); `gate` holds a read open, `failing` fails it.
 */
function fakeLedger(initial: AccountView) {
  const state = {
    current: initial, reads: 0, asked: [] as string[][], extra: {} as Record<string, number>, gate: null as Promise<void> | null, failing: false,
    /** Users whose account needs work before it can be viewed (`view` prepares one; `readViews` says so). */
    unprepared: new Set<string>(), prepared: [] as string[],
  };
  const views = async (userIds: readonly string[]) => {
    state.reads += 1;
    state.asked.push([...userIds]);
    if (state.failing) throw new Error('connection reset');
    const answer = state.current;
    if (state.gate !== null) await state.gate;
    return new Map(userIds.map((userId) => [userId, { ...answer, accountId: userId, available: answer.available + (state.extra[userId] ?? 0) }]));
  };
  return {
    state,
    ledger: {
      views,
      readViews: async (userIds: readonly string[]) => {
        const read: Map<string, AccountView | typeof unprepared> = await views(userIds);
        for (const userId of userIds) if (state.unprepared.has(userId)) read.set(userId, unprepared);
        return read;
      },
      view: async (userId: string) => {
        state.prepared.push(userId);
        state.unprepared.delete(userId);
        return (await views([userId])).get(userId) ?? null;
      },
    },
  };
}

/** Background reads leave on the next turn of the event loop here, not after 50 ms. */
const nextTurn = (run: () => void) => void setImmediate(run);

/** A view over a fake ledger, with its own cache (refreshing views at 70% of their time to live). */
function cachedView(initial: AccountView) {
  const { state, ledger } = fakeLedger(initial);
  const cache = new CreditViewCache({ random: () => 0 });
  return { state, cache, view: new LedgerCreditView(ledger, cache, nextTurn) };
}

t.test('a second read of unchanged credits does not ask the ledger', async (t) => {
  const { state, view } = cachedView(viewOf(40));
  await view.summaryOf(account, nowMs);
  const again = await view.summaryOf(account, nowMs + 1000);
  t.equal(state.reads, 1);
  t.equal(again.balance.available, 40);
});

t.test('an announced change makes the next read ask the ledger', async (t) => {
  const { state, cache, view } = cachedView(viewOf(40));
  await view.summaryOf(account, nowMs);
  state.current = viewOf(38);
  cache.invalidate('ada');
  t.equal((await view.summaryOf(account, nowMs)).balance.available, 38);
  t.equal(state.reads, 2);
});

t.test('a read that raced with a change is used once and not kept', async (t) => {
  const { state, cache, view } = cachedView(viewOf(40));
  let open!: () => void;
  state.gate = new Promise((resolve) => (open = resolve));
  const racing = view.summaryOf(account, nowMs);
  // The change commits and is announced while the read is in flight (reads leave at the end of the turn).
  await new Promise((resolve) => setImmediate(resolve));
  t.equal(state.reads, 1, 'the read is in flight');
  cache.invalidate('ada');
  state.current = viewOf(30);
  state.gate = null;
  open();
  t.equal((await racing).balance.available, 40, 'the racing reader sees what it read');
  t.equal((await view.summaryOf(account, nowMs)).balance.available, 30, 'the next reader reads again');
  t.equal(state.reads, 2);
});

t.test('views expire: after the time-to-live, at the cycle end and when a burst ends', async (t) => {
  const { state, view } = cachedView(viewOf(40));
  await view.summaryOf(account, nowMs);
  await view.summaryOf(account, nowMs + limits.creditViewTtlMs);
  t.equal(state.reads, 2, 'read again after the time-to-live');

  const cycleEnd = cachedView(viewOf(40, { cycleEnd: new Date(nowMs + 1000).toISOString() }));
  const atCycleEnd = cycleEnd.view;
  await atCycleEnd.summaryOf(account, nowMs);
  await atCycleEnd.summaryOf(account, nowMs + 1000);
  t.equal(cycleEnd.state.reads, 2, 'read again once the cycle it describes is over');

  const burst = cachedView(viewOf(40, { burstUntil: new Date(nowMs + 2000).toISOString() }));
  const duringBurst = burst.view;
  await duringBurst.summaryOf(account, nowMs);
  await duringBurst.summaryOf(account, nowMs + 1999);
  t.equal(burst.state.reads, 1, 'kept while the burst runs');
  await duringBurst.summaryOf(account, nowMs + 2000);
  t.equal(burst.state.reads, 2, 'read again when the burst ends');
});

t.test('the cache forgets everything at its bound rather than grow', async (t) => {
  const cache = new CreditViewCache();
  for (let index = 0; index <= limits.creditViewsMax; index += 1) cache.put(`u${index}`, viewOf(1, { accountId: `u${index}` }), 0, nowMs);
  t.ok(cache.size <= limits.creditViewsMax);
});

t.test("this node's own debit moves the debiting user's view on; its bus echo changes nothing, another node's news does", async (t) => {
  const { state, cache, view } = cachedView(viewOf(40));
  await view.summaryOf(account, nowMs);
  cache.changedHere('ada', nowMs, { userId: 'ada', charged: 2, balanceAfter: 38 });
  cache.heard('ada', nowMs + 5);
  const after = await view.summaryOf(account, nowMs + 10);
  t.same([after.balance.available, after.balance.used, state.reads], [38, 2, 1], 'followed without a read');
  cache.heard('ada', nowMs + 20);
  state.current = viewOf(50);
  t.equal((await view.summaryOf(account, nowMs + 30)).balance.available, 50, 'news from elsewhere is read');
  t.equal(state.reads, 2);
});

t.test('a debit that does not follow from the cached view leaves it to be read again', async (t) => {
  const { state, cache, view } = cachedView(viewOf(40));
  await view.summaryOf(account, nowMs);
  // Another change happened in between: 40 − 2 is not what the ledger left.
  state.current = viewOf(35);
  cache.changedHere('ada', nowMs, { userId: 'ada', charged: 2, balanceAfter: 35 });
  t.equal((await view.summaryOf(account, nowMs + 1)).balance.available, 35);
  t.equal(state.reads, 2);
});

t.test('a view in use is read again in the background before it expires, and nobody waits for that read', async (t) => {
  const { state, view } = cachedView(viewOf(40));
  await view.summaryOf(account, nowMs);
  state.current = viewOf(37);
  let open!: () => void;
  state.gate = new Promise((resolve) => (open = resolve));
  const due = nowMs + limits.creditViewTtlMs * 0.75;
  t.equal((await view.summaryOf(account, due)).balance.available, 40, 'the decision that starts the read is answered from the view it has');
  await new Promise((resolve) => setImmediate(resolve));
  t.equal((await view.summaryOf(account, due + 10)).balance.available, 40, 'so is the next one while the read runs');
  t.equal(state.reads, 2, 'one read at a time');
  state.gate = null;
  open();
  await new Promise((resolve) => setImmediate(resolve));
  t.equal((await view.summaryOf(account, due + 20)).balance.available, 37, 'the read replaced the view');
  t.equal(state.reads, 2);
});

t.test('the background reads due at the same time are one query', async (t) => {
  const { state, view } = cachedView(viewOf(40));
  const users = ['ada', 'bo', 'cy'].map((id) => ({ ...account, id }) as UserAccount);
  for (const user of users) await view.summaryOf(user, nowMs);
  t.equal(state.reads, 3, 'a view nobody has yet is read at once, on its own');
  state.current = viewOf(35);
  state.extra = { bo: 1, cy: 2 };
  const due = nowMs + limits.creditViewTtlMs * 0.75;
  for (const user of users) t.equal((await view.summaryOf(user, due)).balance.available, 40);
  await new Promise((resolve) => setImmediate(resolve));
  t.equal(state.reads, 4, 'one query renewed the three');
  t.same(state.asked.at(-1), ['ada', 'bo', 'cy']);
  const renewed = [];
  for (const user of users) renewed.push((await view.summaryOf(user, due + 10)).balance.available);
  t.same(renewed, [35, 36, 37], 'each user got their own view');
});

t.test('sessions that have no view yet and ask at one moment wait for one query together', async (t) => {
  const { state, view } = cachedView(viewOf(40));
  state.extra = { bo: 1, cy: 2 };
  const users = ['ada', 'bo', 'cy', 'ada'].map((id) => ({ ...account, id }) as UserAccount);
  const balances = await Promise.all(users.map(async (user) => (await view.summaryOf(user, nowMs)).balance.available));
  t.same(balances, [40, 41, 42, 40], 'each asker got their own view');
  t.equal(state.reads, 1);
  t.same(state.asked, [['ada', 'bo', 'cy']], 'each user asked once');
});

t.test('a view whose account needs work first is prepared on its own, after the batch it was read in', async (t) => {
  const { state, view } = cachedView(viewOf(40));
  state.unprepared.add('bo');
  const users = ['ada', 'bo'].map((id) => ({ ...account, id }) as UserAccount);
  const balances = await Promise.all(users.map(async (user) => (await view.summaryOf(user, nowMs)).balance.available));
  t.same(balances, [40, 40]);
  t.same(state.asked, [['ada', 'bo'], ['bo']], 'one batch, then the one that needed work');
  t.same(state.prepared, ['bo']);
});

t.test('views read together come due at different times', async (t) => {
  let draw = 0;
  const cache = new CreditViewCache({ random: () => (draw++ % 10) / 10 });
  for (let index = 0; index < 10; index += 1) cache.put(`u${index}`, viewOf(1, { accountId: `u${index}` }), 0, nowMs);
  const dueAt = (fraction: number) => Array.from({ length: 10 }, (_, index) => `u${index}`).filter((user) => cache.claimRefresh(user, nowMs + limits.creditViewTtlMs * fraction)).length;
  t.equal(dueAt(0.69), 0, 'none before 70% of the time to live');
  t.equal(dueAt(0.81), 6, 'some by 81%');
  t.equal(dueAt(0.9), 4, 'the rest by 90%');
});

t.test('a refresh that fails keeps the view until it expires, and is tried again a second later, not on every decision', async (t) => {
  const { state, view } = cachedView(viewOf(40));
  await view.summaryOf(account, nowMs);
  state.failing = true;
  const due = nowMs + limits.creditViewTtlMs * 0.75;
  t.equal((await view.summaryOf(account, due)).balance.available, 40);
  await new Promise((resolve) => setImmediate(resolve));
  t.equal(state.reads, 2, 'the refresh was tried');
  state.failing = false;
  state.current = viewOf(36);
  t.equal((await view.summaryOf(account, due + 10)).balance.available, 40, 'the view still serves');
  t.equal(state.reads, 2, 'no new read right after the failure');
  t.equal((await view.summaryOf(account, due + 1_000)).balance.available, 40);
  await new Promise((resolve) => setImmediate(resolve));
  t.equal(state.reads, 3, 'a second later the next decision tried again');
  t.equal((await view.summaryOf(account, due + 1_010)).balance.available, 36);
});

t.test("this node's own debit during a refresh: the refresh is not kept, and the view is refreshed again later", async (t) => {
  const { state, cache, view } = cachedView(viewOf(40));
  await view.summaryOf(account, nowMs);
  let open!: () => void;
  state.gate = new Promise((resolve) => (open = resolve));
  const due = nowMs + limits.creditViewTtlMs * 0.75;
  await view.summaryOf(account, due);
  await new Promise((resolve) => setImmediate(resolve));
  // The session's own frame is charged while the refresh is in flight.
  cache.changedHere('ada', due + 1, { userId: 'ada', charged: 2, balanceAfter: 38 });
  state.gate = null;
  open();
  await new Promise((resolve) => setImmediate(resolve));
  state.current = viewOf(38);
  t.equal((await view.summaryOf(account, due + 2)).balance.available, 38, 'the view followed the debit, not the older read');
  await new Promise((resolve) => setImmediate(resolve));
  t.equal(state.reads, 3, 'and the next decision starts a refresh again');
  await view.summaryOf(account, due + 3);
  t.equal(state.reads, 3, 'which renewed the view');
});
