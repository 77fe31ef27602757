import t from 'tap';
import { LiveAccounts } from '../../src/stream/liveAccounts.js';
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
