import { SignJWT, UnsecuredJWT } from 'jose';
import t from 'tap';
import { TokenAuthority } from '../src/auth/token.js';

const secret = 'a-test-secret-that-is-long-enough-0123456789';
const authority = new TokenAuthority(secret);

t.test('a token it issued verifies to its user and expiry', async (t) => {
  const now = Date.now();
  const check = await authority.verify(await authority.issue('user-1', 60, now));
  t.same(check, { ok: true, claims: { userId: 'user-1', expiresAtMs: (Math.floor(now / 1000) + 60) * 1000 } });
});

t.test('expired, forged, unsigned and exp-less tokens are refused', async (t) => {
  const expired = await authority.issue('user-1', 1, Date.now() - 10_000);
  t.match(await authority.verify(expired), { ok: false, reason: 'token expired' });
  const forged = await new TokenAuthority('another-secret-that-is-long-enough-98765').issue('user-1', 60);
  t.match(await authority.verify(forged), { ok: false });
  const unsigned = new UnsecuredJWT({}).setSubject('user-1').setExpirationTime('1h').encode();
  t.match(await authority.verify(unsigned), { ok: false });
  const key = new TextEncoder().encode(secret);
  const noExpiry = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('user-1').sign(key);
  t.match(await authority.verify(noExpiry), { ok: false });
  const otherAlgorithm = await new SignJWT({}).setProtectedHeader({ alg: 'HS512' }).setSubject('user-1').setExpirationTime('1h').sign(key);
  t.match(await authority.verify(otherAlgorithm), { ok: false, reason: 'token algorithm not allowed' });
  t.match(await authority.verify('not.a.token'), { ok: false });
});
