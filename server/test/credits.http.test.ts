/** The contract's admin credit routes, over HTTP against a real server. */
import t from 'tap';
import { TestClient } from './support/client.js';
import { startTestServer } from './support/server.js';

let server: Awaited<ReturnType<typeof startTestServer>>;
t.before(async () => {
  server = await startTestServer(t, 'memory');
});

const call = async (method: string, path: string, body?: unknown) => {
  const response = await fetch(new URL(path, server.url), {
    method,
    headers: { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, any> };
};

t.test('a new user starts a cycle with the tier base quota', async (t) => {
  t.equal((await call('PUT', '/v1/admin/users/carol', { tier: 'basic', tz: 'Asia/Tokyo' })).status, 201);
  const credits = await call('GET', '/v1/admin/users/carol/credits');
  t.equal(credits.status, 200);
  t.match(credits.body, { available: 200, used: 0, rollover: 0, ledgerBalance: 200 });
  t.ok(Date.parse(credits.body['cycleStart']) <= Date.now() && Date.parse(credits.body['cycleEnd']) > Date.now());
  t.match((await call('GET', '/v1/admin/users/nobody/credits')).body, { error: { code: 'user_not_found' } });
});

t.test('a user id cannot take the name of a team pool', async (t) => {
  const refused = await call('PUT', `/v1/admin/users/${encodeURIComponent('team:acme')}`, { tier: 'basic' });
  t.equal(refused.status, 400);
  t.match(refused.body, { error: { code: 'invalid_id' } });
});

t.test('grants are idempotent: replayed with 200, refused with 409 when the amount differs', async (t) => {
  await call('PUT', '/v1/admin/users/dave', { tier: 'basic' });
  const first = await call('POST', '/v1/admin/users/dave/grants', { amount: 25, id: 'promo', reason: 'sorry' });
  t.equal(first.status, 201);
  t.match(first.body, { grant: { amount: 25, balanceAfter: 225, replayed: false } });
  const again = await call('POST', '/v1/admin/users/dave/grants', { amount: 25, id: 'promo' });
  t.equal(again.status, 200);
  t.match(again.body, { grant: { replayed: true, balanceAfter: 225 } });
  const mismatch = await call('POST', '/v1/admin/users/dave/grants', { amount: 30, id: 'promo' });
  t.equal(mismatch.status, 409);
  t.match(mismatch.body, { error: { code: 'idempotency_mismatch' } });
  t.equal((await call('POST', '/v1/admin/users/dave/grants', { amount: 0, id: 'zero' })).status, 400);
  const nul = await call('POST', '/v1/admin/users/dave/grants', { amount: 5, id: 'promo\u0000', reason: 'sorry' });
  t.equal(nul.status, 400, 'an id PostgreSQL cannot store is refused before it is written');
  t.match(nul.body, { error: { code: 'invalid_body', message: 'strings must not contain U+0000' } });
  t.match((await call('GET', '/v1/admin/users/dave/credits')).body, { available: 225, ledgerBalance: 225 });
});

t.test('the ledger lists entries newest first, and they sum to the balance', async (t) => {
  await call('PUT', '/v1/admin/users/erin', { tier: 'premium' });
  await call('POST', '/v1/admin/users/erin/grants', { amount: 10, id: 'g1' });
  const client = await TestClient.connect(server.url, await server.tokens.issue('erin', 60));
  t.teardown(() => client.close());
  await client.hello();
  client.send({ t: 'burst', id: 'erin-burst' });
  await client.takeType('ack');
  const listing = await call('GET', '/v1/admin/users/erin/ledger?limit=10');
  t.match(listing.body['entries'].map((entry: { type: string; amount: number }) => `${entry.type} ${entry.amount}`), ['burst -5', 'grant 10', 'refill 600']);
  t.match(listing.body['entries'][0], { requestId: 'burst:erin-burst', balanceAfter: 605 });
  const sum = listing.body['entries'].reduce((total: number, entry: { amount: number }) => total + entry.amount, 0);
  t.equal(sum, (await call('GET', '/v1/admin/users/erin/credits')).body['available']);
  t.equal((await call('GET', '/v1/admin/users/erin/ledger?limit=0')).status, 400);
  t.equal((await call('GET', '/v1/admin/users/erin/ledger?limit=1')).body['entries'].length, 1);
});

t.test('a tier change goes through the ledger', async (t) => {
  await call('PUT', '/v1/admin/users/fay', { tier: 'basic' });
  const upgrade = await call('PUT', '/v1/admin/users/fay/tier', { tier: 'premium' });
  t.match(upgrade.body, { change: { status: 'changed', from: 'basic', to: 'premium', refilled: 400 } });
  t.match((await call('GET', '/v1/admin/users/fay/credits')).body, { available: 600 });
  t.equal((await call('PUT', '/v1/admin/users/fay/tier', { tier: 'gone' })).status, 404);
  const viaProfile = await call('PUT', '/v1/admin/users/fay', { tier: 'basic' });
  t.equal(viaProfile.status, 200);
  t.match((await call('GET', '/v1/admin/users/fay')).body, { user: { tier: 'basic' } });
  t.equal((await call('PUT', '/v1/admin/users/fay', { tier: 'basic', team: 'other' })).status, 409);
});

t.test('cycles close for any moment, once', async (t) => {
  await call('PUT', '/v1/admin/users/gus', { tier: 'basic' });
  const credits = (await call('GET', '/v1/admin/users/gus/credits')).body;
  const asOf = credits['cycleEnd'];
  const first = await call('POST', '/v1/admin/cycles/run', { asOf });
  t.equal(first.status, 200);
  t.ok(first.body['cyclesClosed'] >= 1);
  const second = await call('POST', '/v1/admin/cycles/run', { asOf });
  t.same(second.body, { accounts: 0, cyclesClosed: 0, failed: [] });
  t.equal((await call('POST', '/v1/admin/cycles/run', { asOf: 'tomorrow' })).status, 400);
  const entries = (await call('GET', '/v1/admin/users/gus/ledger?limit=3')).body['entries'];
  t.match(entries.map((entry: { type: string }) => entry.type), ['refill', 'rollover', 'expire']);
});

t.test('reconcile reports what it checked and what drifted', async (t) => {
  const report = await call('POST', '/v1/admin/reconcile');
  t.equal(report.status, 200);
  t.ok(report.body['checked'] >= 1);
  t.same(report.body['drifted'], []);
});

t.test('an operator can refund a debit once', async (t) => {
  await call('PUT', '/v1/admin/users/hal', { tier: 'basic' });
  const client = await TestClient.connect(server.url, await server.tokens.issue('hal', 60));
  t.teardown(() => client.close());
  await client.hello();
  client.send({ t: 'burst', id: 'oops' });
  await client.takeType('ack');
  const debit = (await call('GET', '/v1/admin/users/hal/ledger?limit=1')).body['entries'][0];
  t.equal((await call('POST', '/v1/admin/refunds', { debitId: debit.id, reason: 'bought by mistake' })).status, 201);
  t.match((await call('POST', '/v1/admin/refunds', { debitId: debit.id })).body, { refund: { replayed: true } });
  t.match((await call('GET', '/v1/admin/users/hal/credits')).body, { available: 200, used: 0 });
});

t.test('a short balance refuses a burst and charges nothing', async (t) => {
  await call('PUT', '/v1/admin/tiers/crumbs', { baseQuota: 3 });
  await call('PUT', '/v1/admin/users/ivy', { tier: 'crumbs' });
  const client = await TestClient.connect(server.url, await server.tokens.issue('ivy', 60));
  t.teardown(() => client.close());
  await client.hello();
  client.send({ t: 'burst', id: 'want' });
  t.match(await client.takeType('ack'), { req: 'want', ok: false, code: 'insufficient_credits', charged: 0 });
  t.match((await call('GET', '/v1/admin/users/ivy/credits')).body, { available: 3, ledgerBalance: 3 });
});

t.test('a grant, a refund and a tier change push the new balance to the live session', async (t) => {
  await call('PUT', '/v1/admin/users/jay', { tier: 'basic' });
  const client = await TestClient.connect(server.url, await server.tokens.issue('jay', 60));
  t.teardown(() => client.close());
  await client.hello();
  await call('POST', '/v1/admin/users/jay/grants', { amount: 40, id: 'push-1' });
  t.match(await client.takeType('balance'), { balance: { available: 240 }, forecast: { runOutRisk: 'low' } });
  await call('PUT', '/v1/admin/users/jay/tier', { tier: 'premium' });
  t.match(await client.takeType('balance'), { balance: { available: 640 } });
});

t.test('a burst bought on one device updates the balance on the other', async (t) => {
  await call('PUT', '/v1/admin/users/kim', { tier: 'basic' });
  const token = await server.tokens.issue('kim', 60);
  const phone = await TestClient.connect(server.url, token);
  const television = await TestClient.connect(server.url, token);
  t.teardown(() => (phone.close(), television.close()));
  await phone.hello();
  await television.hello();
  phone.send({ t: 'burst', id: 'party' });
  t.match(await phone.takeType('ack'), { balance: { available: 195 } });
  t.match(await television.takeType('balance'), { balance: { available: 195 } });
  // The phone heard the same announcement; its ack already told it, so nothing more is pushed.
  await new Promise((resolve) => setTimeout(resolve, 300));
  t.same(phone.received.filter((message) => message.t === 'balance'), [], 'the buyer is not told its own balance twice');
});
