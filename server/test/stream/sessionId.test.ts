import t from 'tap';
import { protocolLimits } from '@titrate/shared';
import { newSessionId } from '../../src/stream/session.js';

t.test('a session id is 16 URL-safe characters of 96 random bits, and no two are alike', async (t) => {
  const ids = Array.from({ length: 10_000 }, newSessionId);
  t.ok(ids.every((id) => /^[A-Za-z0-9_-]{16}$/.test(id)), 'each fits a URL and a Redis key as it is');
  t.ok(ids.every((id) => id.length <= protocolLimits.sessionIdLengthMax), "each is a valid hello.resume");
  t.equal(new Set(ids).size, ids.length);
});
