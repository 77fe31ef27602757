import t from 'tap';
import { FreshFrames, InboxHints } from '../../src/generation/fresh.js';
import { limits } from '../../src/limits.js';

const handoffMs = 10_000;
const nowMs = 1_000_000;

t.test('an inbox found empty is known empty until one of the user generations ends', async (t) => {
  const hints = new InboxHints(handoffMs);
  t.notOk(hints.knownEmpty('ada', nowMs), 'unknown at first');
  hints.markEmpty('ada', hints.versionOf('ada'), nowMs);
  t.ok(hints.knownEmpty('ada', nowMs + 1));
  t.notOk(hints.knownEmpty('bob', nowMs + 1), 'only for that user');
  hints.ended('ada', nowMs + 2);
  t.notOk(hints.knownEmpty('ada', nowMs + 3));
});

t.test('news that arrives while the inbox is read keeps it unknown', async (t) => {
  const hints = new InboxHints(handoffMs);
  const version = hints.versionOf('ada');
  hints.ended('ada', nowMs);
  hints.markEmpty('ada', version, nowMs + 5);
  t.notOk(hints.knownEmpty('ada', nowMs + 6));
});

t.test('an empty inbox is asked again after the time-to-live, and after a reserved frame is released', async (t) => {
  const hints = new InboxHints(handoffMs);
  hints.markEmpty('ada', hints.versionOf('ada'), nowMs);
  t.notOk(hints.knownEmpty('ada', nowMs + limits.inboxHintTtlMs), 'expired');

  hints.ended('bob', nowMs);
  // Read during the frame's handoff to its own waiting request: empty for others only until then.
  hints.markEmpty('bob', hints.versionOf('bob'), nowMs + 100);
  t.ok(hints.knownEmpty('bob', nowMs + handoffMs - 1));
  t.notOk(hints.knownEmpty('bob', nowMs + handoffMs));
});

t.test('an event that names no user forgets every hint; a pantry fill (null) forgets none', async (t) => {
  const hints = new InboxHints(handoffMs);
  hints.markEmpty('ada', hints.versionOf('ada'), nowMs);
  hints.ended(null, nowMs);
  t.ok(hints.knownEmpty('ada', nowMs + 1));
  const version = hints.versionOf('ada');
  hints.ended(undefined, nowMs);
  t.notOk(hints.knownEmpty('ada', nowMs + 1));
  hints.markEmpty('ada', version, nowMs + 2);
  t.notOk(hints.knownEmpty('ada', nowMs + 3), 'a read begun before the reset is not trusted');
});

t.test('a known-empty inbox is looked at again ahead of its expiry, once, at times spread over 60-90% of the time-to-live', async (t) => {
  let draw = 0;
  const hints = new InboxHints(handoffMs, () => (draw++ % 4) / 4);
  const users = ['ada', 'bob', 'cy', 'di'];
  for (const user of users) hints.markEmpty(user, hints.versionOf(user), nowMs);
  const claimed = (fraction: number) => users.filter((user) => hints.claimRecheck(user, nowMs + limits.inboxHintTtlMs * fraction) !== null);
  t.same(claimed(0.59), [], 'none before 60%');
  t.same(claimed(0.7), ['ada', 'bob'], 'spread out');
  t.same(claimed(0.7), [], 'one look at a time');
  t.same(claimed(0.9), ['cy', 'di']);
  t.ok(users.every((user) => hints.knownEmpty(user, nowMs + limits.inboxHintTtlMs * 0.95)), 'still trusted while the looks run');
});

t.test('the look renews the hint when nothing waits, drops it when a frame does, and is tried again a second after it fails', async (t) => {
  const hints = new InboxHints(handoffMs, () => 0);
  for (const user of ['ada', 'bob', 'cy']) hints.markEmpty(user, hints.versionOf(user), nowMs);
  const due = nowMs + limits.inboxHintTtlMs * 0.6;
  const [ada, bob, cy] = ['ada', 'bob', 'cy'].map((user) => hints.claimRecheck(user, due)!);
  hints.recheckEnded(ada!, 'empty', due);
  t.ok(hints.knownEmpty('ada', nowMs + limits.inboxHintTtlMs + 1), 'nothing waiting: known empty for another time-to-live');
  hints.recheckEnded(bob!, 'waiting', due);
  t.notOk(hints.knownEmpty('bob', due + 1), 'a frame waiting: the next request reads the inbox');
  hints.recheckEnded(cy!, 'failed', due);
  t.ok(hints.knownEmpty('cy', due + 1), 'a failed look leaves the hint');
  t.equal(hints.claimRecheck('cy', due + 1), null, 'not looked at again on the very next request');
  t.not(hints.claimRecheck('cy', due + 1_000), null, 'but a second after the failed look');
});

t.test('a look that ends after its hint was replaced changes nothing', async (t) => {
  const hints = new InboxHints(handoffMs, () => 0);
  hints.markEmpty('ada', hints.versionOf('ada'), nowMs);
  const due = nowMs + limits.inboxHintTtlMs * 0.6;
  const stale = hints.claimRecheck('ada', due)!;
  // A generation ends and a request reads the inbox again meanwhile: a new hint.
  hints.ended('ada', due + 1);
  hints.markEmpty('ada', hints.versionOf('ada'), due + 20_000);
  hints.recheckEnded(stale, 'waiting', due + 2);
  t.ok(hints.knownEmpty('ada', due + 20_001), 'the newer hint stands');
});

t.test('a hint cut short by a reserved frame is not looked at in the background: the request after the handoff reads', async (t) => {
  const hints = new InboxHints(handoffMs, () => 0);
  hints.ended('ada', nowMs);
  hints.markEmpty('ada', hints.versionOf('ada'), nowMs + 100);
  t.notOk(hints.claimRecheck('ada', nowMs + handoffMs - 1));
  t.notOk(hints.knownEmpty('ada', nowMs + handoffMs));
});

t.test('a request whose hint is due is answered without waiting, and its background look decides what the next one does', async (t) => {
  const hints = new InboxHints(handoffMs, () => 0);
  let answer!: (waiting: boolean) => void;
  const store = {
    takes: 0,
    looks: 0,
    takeFromInbox: async () => {
      store.takes += 1;
      return null;
    },
    hasInbox: async () => false,
    waitingInboxes: (userIds: string[]) => {
      store.looks += 1;
      return store.looks === 1 ? new Promise<Set<string>>((resolve) => (answer = (waiting) => resolve(new Set(waiting ? userIds : [])))) : Promise.resolve(new Set());
    },
  };
  const nextTurn = (run: () => void) => void setImmediate(run);
  const fresh = new FreshFrames({ store, inbox: hints, scheduleLooks: nextTurn } as never);
  hints.markEmpty('ada', hints.versionOf('ada'), Date.now() - limits.inboxHintTtlMs * 0.65);
  t.equal(await fresh.takeFromInbox('ada', 'landscape', 's1', 'r1'), null);
  await new Promise((resolve) => setImmediate(resolve));
  t.equal(await fresh.takeFromInbox('ada', 'landscape', 's1', 'r2'), null);
  t.same([store.takes, store.looks], [0, 1], 'one look started, no request waited for the inbox');
  answer(true);
  await new Promise((resolve) => setImmediate(resolve));
  await fresh.takeFromInbox('ada', 'landscape', 's1', 'r3');
  t.equal(store.takes, 1, 'a frame was waiting: the next request took from the inbox');
});

t.test('the background looks due at the same time are one query, and each user gets their own answer', async (t) => {
  const hints = new InboxHints(handoffMs, () => 0);
  const asked: string[][] = [];
  const store = {
    takes: 0,
    takeFromInbox: async () => {
      store.takes += 1;
      return null;
    },
    hasInbox: async () => false,
    waitingInboxes: async (userIds: string[]) => {
      asked.push([...userIds]);
      return new Set(['bo']);
    },
  };
  const fresh = new FreshFrames({ store, inbox: hints, scheduleLooks: (run: () => void) => void setImmediate(run) } as never);
  const users = ['ada', 'bo', 'cy'];
  for (const user of users) hints.markEmpty(user, hints.versionOf(user), Date.now() - limits.inboxHintTtlMs * 0.65);
  for (const user of users) t.equal(await fresh.takeFromInbox(user, 'landscape', 's1', `r-${user}`), null);
  await new Promise((resolve) => setImmediate(resolve));
  t.same(asked, [['ada', 'bo', 'cy']], 'one query for the three');
  t.equal(store.takes, 0, 'nobody waited for it');
  t.ok(hints.knownEmpty('ada', Date.now()), 'an empty inbox stays known empty');
  t.notOk(hints.knownEmpty('bo', Date.now()), 'a waiting frame drops the hint, so the next request takes it');
});
