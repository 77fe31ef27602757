import t from 'tap';
import { LiveAccounts } from '../../src/stream/liveAccounts.js';
import type { Demand } from '../../src/titration/forecast.js';
import type { UserAccount } from '../../src/users/directory.js';

type Session = { name: string; heard: number };
const session = (name: string): Session => ({ name, heard: 0 });
const registry = () => new LiveAccounts<Session>((listener) => (listener.heard += 1));
const read = (id: string, changes: Partial<UserAccount> = {}): UserAccount => ({
  id, tier: 'basic', tz: 'UTC', annual: false, team: null, region: null, anchorDay: 1, baseQuota: 200, rolloverCap: 3, unlimited: false, burstPrice: 5, ...changes,
});

t.test('a credit change reaches every live session of its account on this node, and no other', async (t) => {
  const accounts = registry();
  const [phone, tv, other] = [session('phone'), session('tv'), session('other')];
  accounts.join('ana', phone, read('ana'));
  accounts.join('ana', tv, read('ana'));
  accounts.join('bo', other, read('bo'));
  accounts.notify('ana');
  t.same([phone.heard, tv.heard, other.heard], [1, 1, 0]);
  accounts.notify('nobody-here');
  t.same([phone.heard, tv.heard, other.heard], [1, 1, 0], 'an account without live sessions here tells no one');
});

t.test('a session hears nothing after it leaves, and an account goes with its last session', async (t) => {
  const accounts = registry();
  const [phone, tv] = [session('phone'), session('tv')];
  accounts.join('ana', phone, read('ana'));
  accounts.join('ana', tv, read('ana'));
  accounts.leave('ana', phone);
  accounts.notify('ana');
  t.same([phone.heard, tv.heard], [0, 1]);
  t.equal(accounts.accountCount, 1);
  accounts.leave('ana', tv);
  accounts.leave('ana', tv);
  t.equal(accounts.accountCount, 0, 'leaving twice is harmless');
});

t.test('joining twice counts a session once', async (t) => {
  const accounts = registry();
  const phone = session('phone');
  accounts.join('ana', phone, read('ana'));
  accounts.join('ana', phone, read('ana'));
  accounts.notify('ana');
  t.equal(phone.heard, 1);
  accounts.leave('ana', phone);
  t.equal(accounts.accountCount, 0);
});

t.test('a session that leaves while its account is told does not keep another from hearing', async (t) => {
  const sessions = [session('a'), session('b'), session('c')];
  const accounts: LiveAccounts<Session> = new LiveAccounts<Session>((listener) => {
    listener.heard += 1;
    accounts.leave('team:x', sessions[1]!);
    accounts.leave('team:x', listener);
  });
  for (const each of sessions) accounts.join('team:x', each, read(each.name, { team: 'x' }));
  accounts.notify('team:x');
  t.same(sessions.map((each) => each.heard), [1, 1, 1], 'everyone live when the change came hears it');
  t.equal(accounts.accountCount, 0);
});

t.test("a user's sessions keep one account object while their reads agree", async (t) => {
  const accounts = registry();
  const first = read('ana');
  t.equal(accounts.shared('ana', first), first, 'the first session keeps its own read');
  accounts.join('ana', session('phone'), first);
  const second = read('ana');
  t.equal(accounts.shared('ana', second), first, 'an equal read is answered with the held object');
  const upgraded = read('ana', { tier: 'premium', baseQuota: 600 });
  t.equal(accounts.shared('ana', upgraded), upgraded, 'a read that differs keeps its own object');
  const teammate = read('bo', { team: 'x' });
  accounts.join('team:x', session('bo'), teammate);
  const otherMember = read('cy', { team: 'x' });
  t.equal(accounts.shared('team:x', otherMember), otherMember, "another member of a team pool keeps their own account");
});

t.test("a changed read of the held user is held from then on: the sessions that come next share it", async (t) => {
  const accounts = registry();
  accounts.join('ana', session('phone'), read('ana'));
  const upgraded = read('ana', { tier: 'premium', baseQuota: 600 });
  t.equal(accounts.shared('ana', upgraded), upgraded);
  t.equal(accounts.shared('ana', read('ana', { tier: 'premium', baseQuota: 600 })), upgraded, 'the next device with the new tier shares the newer read');
  const teammate = read('bo', { team: 'x' });
  accounts.join('team:x', session('bo'), teammate);
  accounts.shared('team:x', read('cy', { team: 'x' }));
  t.equal(accounts.shared('team:x', read('bo', { team: 'x' })), teammate, "another member's read does not displace the held member's");
});

t.test('the shared account leaves with the last session, so a later read is kept as is', async (t) => {
  const accounts = registry();
  const phone = session('phone');
  const first = read('ana');
  accounts.join('ana', phone, first);
  accounts.leave('ana', phone);
  const later = read('ana');
  t.equal(accounts.shared('ana', later), later);
});

const demandOf = (framesPerActiveDay: number): Demand =>
  Object.freeze({ activeShare: 1, framesPerActiveDay, medianActiveDayFrames: framesPerActiveDay, creditsPerFresh: 5, creditsPerDay: 10, observedDays: 1 });

/** A read of the account's demand that the test settles by hand, counting how often it was asked. */
function pendingReads() {
  const asked: Array<{ resolve: (demand: Demand) => void; reject: (error: Error) => void }> = [];
  const read = () => new Promise<Demand>((resolve, reject) => asked.push({ resolve, reject }));
  return { asked, read };
}

t.test("an account's demand is read once a day for all its live sessions, including while the first read is in flight", async (t) => {
  const accounts = registry();
  accounts.join('ana', session('phone'), read('ana'));
  accounts.join('ana', session('tv'), read('ana'));
  const reads = pendingReads();
  const phone = accounts.demandOn('ana', '2026-11-22', reads.read);
  const tv = accounts.demandOn('ana', '2026-11-22', reads.read);
  t.equal(reads.asked.length, 1, 'the second session waits for the first read');
  t.equal(accounts.lastDemand('ana'), undefined, 'nothing to forecast with before the first read ends');
  const demand = demandOf(40);
  reads.asked[0]!.resolve(demand);
  t.equal(await phone, demand);
  t.equal(await tv, demand);
  t.equal(accounts.demandOn('ana', '2026-11-22', reads.read), demand, 'once read, the demand is answered at once');
  t.equal(accounts.lastDemand('ana'), demand);
  t.equal(reads.asked.length, 1);
});

t.test("a new local day reads the demand again, and forecasts keep the day before's until it is read", async (t) => {
  const accounts = registry();
  accounts.join('ana', session('phone'), read('ana'));
  const yesterday = demandOf(40);
  await accounts.demandOn('ana', '2026-11-21', async () => yesterday);
  const reads = pendingReads();
  const today = accounts.demandOn('ana', '2026-11-22', reads.read);
  t.equal(reads.asked.length, 1);
  t.equal(accounts.lastDemand('ana'), yesterday, "the day before's demand while today's is read");
  reads.asked[0]!.resolve(demandOf(50));
  t.equal((await today).framesPerActiveDay, 50);
  t.equal(accounts.lastDemand('ana')?.framesPerActiveDay, 50);
});

t.test('the members of a team pool on different local days each have their day read once, and at most three days are held', async (t) => {
  const accounts = registry();
  accounts.join('team:x', session('tokyo'), read('ana', { team: 'x', tz: 'Asia/Tokyo' }));
  accounts.join('team:x', session('new-york'), read('bo', { team: 'x', tz: 'America/New_York' }));
  let reads = 0;
  const readDay = (frames: number) => async () => {
    reads += 1;
    return demandOf(frames);
  };
  for (let frame = 0; frame < 5; frame += 1) {
    t.equal((await accounts.demandOn('team:x', '2026-11-23', readDay(23))).framesPerActiveDay, 23);
    t.equal((await accounts.demandOn('team:x', '2026-11-22', readDay(22))).framesPerActiveDay, 22);
  }
  t.equal(reads, 2, 'alternating frames of the two members read each day once');
  await accounts.demandOn('team:x', '2026-11-24', readDay(24));
  await accounts.demandOn('team:x', '2026-11-25', readDay(25));
  t.equal(reads, 4);
  await accounts.demandOn('team:x', '2026-11-23', readDay(23));
  t.equal(reads, 4, 'the three newest days are held');
  await accounts.demandOn('team:x', '2026-11-22', readDay(22));
  t.equal(reads, 5, 'the earliest day was let go when a fourth came');
  await accounts.demandOn('team:x', '2026-11-22', readDay(22));
  t.equal(reads, 6, 'and a day earlier than every day held is answered but not held');
});

t.test('a failed read of the demand reaches its askers and the next ask reads again', async (t) => {
  const accounts = registry();
  accounts.join('ana', session('phone'), read('ana'));
  const reads = pendingReads();
  const first = Promise.resolve(accounts.demandOn('ana', '2026-11-22', reads.read));
  const second = Promise.resolve(accounts.demandOn('ana', '2026-11-22', reads.read));
  reads.asked[0]!.reject(new Error('engine unavailable'));
  await t.rejects(first, /engine unavailable/);
  await t.rejects(second, /engine unavailable/);
  const demand = demandOf(30);
  t.equal(await accounts.demandOn('ana', '2026-11-22', async () => demand), demand, 'the failure is not held');
});

t.test('sessions not live yet share a read in flight; what one read is held when it joins, and leaves with the last session', async (t) => {
  const accounts = registry();
  const reads = pendingReads();
  const phone = Promise.resolve(accounts.demandOn('ana', '2026-11-22', reads.read));
  const tv = Promise.resolve(accounts.demandOn('ana', '2026-11-22', reads.read));
  t.equal(reads.asked.length, 1, 'two devices saying hello at once read once');
  reads.asked[0]!.resolve(demandOf(20));
  const demand = await phone;
  t.equal(await tv, demand);
  t.equal(accounts.lastDemand('ana'), undefined, 'without a live session nothing is held');
  const again = pendingReads();
  void accounts.demandOn('ana', '2026-11-22', again.read);
  t.equal(again.asked.length, 1, 'a later ask reads anew');
  again.asked[0]!.resolve(demandOf(20));
  const session1 = session('phone');
  accounts.join('ana', session1, read('ana'), { dayKey: '2026-11-22', demand });
  t.equal(accounts.demandOn('ana', '2026-11-22', again.read), demand, "the joining session's read is held for the account");
  t.equal(accounts.lastDemand('ana'), demand);
  accounts.leave('ana', session1);
  t.equal(accounts.lastDemand('ana'), undefined, 'the demand leaves with the last session');
});
