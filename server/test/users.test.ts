import t from 'tap';
import { ledgerFixture } from './support/ledger.js';

t.test('accounts asked for at one moment are read in one query, each asker getting their own or null', async (t) => {
  const f = await ledgerFixture(t);
  await f.tier('small', { baseQuota: 20, burstPrice: 7 });
  await f.user('ann', 'small');
  await f.user('bob', 'basic');
  const query = f.pool.query.bind(f.pool);
  const names: unknown[] = [];
  f.pool.query = ((config: unknown, ...rest: unknown[]) => {
    names.push((config as { name?: string }).name);
    return (query as (...args: unknown[]) => unknown)(config, ...rest);
  }) as typeof f.pool.query;
  const accounts = await Promise.all(['ann', 'bob', 'nobody', 'ann'].map((id) => f.users.getAccount(id)));
  t.same(names, ['user_accounts'], 'one query');
  t.match(accounts[0], { id: 'ann', tier: 'small', baseQuota: 20, burstPrice: 7, unlimited: false });
  t.match(accounts[1], { id: 'bob', tier: 'basic', baseQuota: 200 });
  t.equal(accounts[2], null, 'a user that does not exist reads as null');
  t.same(accounts[3], accounts[0]);
});
