import t from 'tap';
import { CreditViewCache, LedgerCreditView } from '../../src/credits/view.js';
import type { AccountView } from '../../src/ledger/ledger.js';
import { limits } from '../../src/limits.js';
import type { UserAccount } from '../../src/users/directory.js';

const nowMs = Date.parse('2026-11-21T12:00:00Z');
const account = { id: 'ada', team: null, tier: 'basic', tz: 'UTC' } as unknown as UserAccount;
const viewOf = (available: number, extra: Partial<AccountView> = {}): AccountView => ({
  accountId: 'ada', kind: 'user', available, used: 0, rollover: 0, cycleStart: '2026-11-01T00:00:00.000Z', cycleEnd: '2026-12-01T00:00:00.000Z',
  unlimited: false, burstUntil: null, burstPrice: 5, ...extra,
} as AccountView);

/** A ledger whose view is whatever `current` says, counting reads; `gate` holds a read open. */
function fakeLedger(initial: AccountView) {
  const state = { current: initial, reads: 0, gate: null as Promise<void> | null };
  return {
    state,
    ledger: {
      view: async () => {
        state.reads += 1;
        const answer = state.current;
        if (state.gate !== null) await state.gate;
        return answer;
      },
    },
  };
}

/** A view over a fake ledger, with its own cache. */
function cachedView(initial: AccountView) {
  const { state, ledger } = fakeLedger(initial);
  const cache = new CreditViewCache();
  return { state, cache, view: new LedgerCreditView(ledger as never, cache) };
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
  // The change commits and is announced while the read is in flight.
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
