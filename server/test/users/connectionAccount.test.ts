import t from 'tap';
import { limits } from '../../src/limits.js';
import { UserDirectory } from '../../src/users/directory.js';
import { ledgerFixture } from '../support/ledger.js';

/** A directory over the fixture's database that counts its queries, on a clock the test moves. */
async function countingDirectory(t: Parameters<typeof ledgerFixture>[0]) {
  const fixture = await ledgerFixture(t);
  await fixture.tier('plain', { baseQuota: 100 });
  await fixture.tier('plus', { baseQuota: 300 });
  await fixture.user('ada', 'plain');
  const counted = { queries: 0, nowMs: 1_000_000 };
  const pool = { query: (...args: unknown[]) => ((counted.queries += 1), (fixture.pool.query as (...a: unknown[]) => unknown)(...args)) };
  const users = new UserDirectory(pool as never, undefined, () => counted.nowMs);
  return { fixture, counted, users };
}

t.test("a connection's hello takes the account its upgrade read, and a later connection reads it again", async (t) => {
  const { counted, users } = await countingDirectory(t);
  const atUpgrade = await users.accountForConnection('ada');
  counted.nowMs += 50;
  const atHello = await users.accountForConnection('ada');
  t.equal(counted.queries, 1, 'one read for both');
  t.same(atHello, atUpgrade);
  t.equal(atHello?.baseQuota, 100);
  counted.nowMs += limits.connectionAccountReuseMs;
  await users.accountForConnection('ada');
  t.equal(counted.queries, 2, 'read again once the reuse window is over');
});

t.test('a tier change made here is seen by the very next connection', async (t) => {
  const { fixture, counted, users } = await countingDirectory(t);
  t.equal((await users.accountForConnection('ada'))?.tier, 'plain');
  await fixture.ledger.changeTier('ada', 'plus');
  users.forget('ada');
  counted.nowMs += 10;
  const after = await users.accountForConnection('ada');
  t.same([after?.tier, after?.baseQuota], ['plus', 300]);
});

t.test("an unknown user is not remembered as unknown, and a tier's new terms end every reuse", async (t) => {
  const { fixture, counted, users } = await countingDirectory(t);
  t.equal(await users.accountForConnection('bob'), null);
  await fixture.user('bob', 'plain');
  t.equal((await users.accountForConnection('bob'))?.id, 'bob', 'created a moment later: found');
  await users.putTier({ name: 'plain', baseQuota: 150, rolloverCap: 3, annualRolloverCap: 6, unlimited: false, regionMultipliers: {}, burstPrice: 5 });
  counted.nowMs += 10;
  t.equal((await users.accountForConnection('bob'))?.baseQuota, 150);
});

t.test('the accounts kept for connections are only those of the last moments', async (t) => {
  const { fixture, counted, users } = await countingDirectory(t);
  for (const id of ['u1', 'u2', 'u3']) {
    await fixture.user(id, 'plain');
    await users.accountForConnection(id);
  }
  counted.nowMs += limits.connectionAccountReuseMs + 1;
  const before = counted.queries;
  await users.accountForConnection('u3');
  await users.accountForConnection('u1');
  t.equal(counted.queries - before, 2, 'every earlier read was dropped');
});
