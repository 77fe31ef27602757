import t from 'tap';
import { InboxHints } from '../../src/generation/fresh.js';
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
