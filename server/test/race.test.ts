/**
 * Two server processes on one PostgreSQL and one Redis, one user playing on a socket to each:
 * concurrent bursts never overspend, and a retried id is charged once across both processes.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import t, { type Test } from 'tap';
import { TokenAuthority } from '../src/auth/token.js';
import { TestClient, type Received } from './support/client.js';
import { startProcess, exited, type ServerProcess } from './support/process.js';
import { testDatabaseUrl, testDirectory, testRedisUrl } from './support/services.js';

let first: ServerProcess;
let second: ServerProcess;
let tokens: TokenAuthority;

t.before(async () => {
  // One DATA_DIR for both: they share the token key and the frame files, as nodes of one deployment must.
  const dataDir = await testDirectory(t);
  const environment = { DATABASE_URL: await testDatabaseUrl(t), REDIS_URL: testRedisUrl(), DATA_DIR: dataDir, LOG_LEVEL: 'warn' };
  first = await startProcess(environment);
  second = await startProcess(environment);
  const secrets = JSON.parse(await readFile(path.join(dataDir, 'secrets.json'), 'utf8')) as { jwtSecret: string };
  tokens = new TokenAuthority(secrets.jwtSecret);
  t.teardown(async () => {
    first.child.kill('SIGTERM');
    second.child.kill('SIGTERM');
    await Promise.all([exited(first.child), exited(second.child)]);
  });
});

const admin = async (method: string, path: string, body?: unknown) => {
  const response = await fetch(new URL(path, first.url), {
    method,
    headers: { authorization: `Bearer ${first.adminToken}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return (await response.json()) as Record<string, any>;
};

async function socketsFor(t: Test, userId: string): Promise<[TestClient, TestClient]> {
  const token = await tokens.issue(userId, 600);
  const clients: [TestClient, TestClient] = [await TestClient.connect(first.url, token), await TestClient.connect(second.url, token)];
  for (const client of clients) t.teardown(() => client.close());
  return clients;
}

/** Sends bursts from both sockets at once (ids by index) and collects every answer. */
async function burstFromBoth(left: TestClient, right: TestClient, count: number, idOf: (side: string, index: number) => string): Promise<Received[]> {
  for (let index = 0; index < count; index += 1) {
    left.send({ t: 'burst', id: idOf('left', index) });
    right.send({ t: 'burst', id: idOf('right', index) });
  }
  const acks: Received[] = [];
  for (let index = 0; index < count; index += 1) acks.push(await left.takeType('ack', 20_000), await right.takeType('ack', 20_000));
  return acks;
}

t.test('concurrent bursts on two processes never spend more than the balance', async (t) => {
  await admin('PUT', '/v1/admin/tiers/racer', { baseQuota: 23, burstPrice: 5 });
  await admin('PUT', '/v1/admin/users/racer-1', { tier: 'racer' });
  const [left, right] = await socketsFor(t, 'racer-1');
  await Promise.all([left.hello(), right.hello()]);
  const acks = await burstFromBoth(left, right, 30, (side, index) => `${side}-${index}`);
  t.equal(acks.filter((ack) => ack['ok'] === true).length, 4, 'exactly floor(23 / 5) succeed');
  t.ok(acks.filter((ack) => ack['ok'] === false).every((ack) => ack['code'] === 'insufficient_credits'));
  const credits = await admin('GET', '/v1/admin/users/racer-1/credits');
  t.match(credits, { available: 3, ledgerBalance: 3, used: 20 });
  const entries = (await admin('GET', '/v1/admin/users/racer-1/ledger?limit=100'))['entries'] as Array<{ balanceAfter: number; type: string }>;
  t.ok(entries.every((entry) => entry.balanceAfter >= 0));
  t.equal(entries.filter((entry) => entry.type === 'burst').length, 4);
});

t.test('a retry storm of one id across both processes is charged once; another price is a mismatch', async (t) => {
  await admin('PUT', '/v1/admin/tiers/stormy', { baseQuota: 100, burstPrice: 5 });
  await admin('PUT', '/v1/admin/users/storm-1', { tier: 'stormy' });
  const [left, right] = await socketsFor(t, 'storm-1');
  await Promise.all([left.hello(), right.hello()]);
  const acks = await burstFromBoth(left, right, 20, () => 'same');
  t.ok(acks.every((ack) => ack['ok'] === true && ack['charged'] === 5), 'every answer reports the one charge');
  t.equal(new Set(acks.map((ack) => ack['until'])).size, 1, 'every answer reports the same burst');
  t.equal(acks.filter((ack) => ack['replayed'] === false).length, 1);
  t.match(await admin('GET', '/v1/admin/users/storm-1/credits'), { available: 95, ledgerBalance: 95 });

  await admin('PUT', '/v1/admin/tiers/stormy', { baseQuota: 100, burstPrice: 7 });
  right.send({ t: 'burst', id: 'same' });
  t.match(await right.takeType('ack'), { ok: false, code: 'idempotency_mismatch', charged: 0 });
  t.match(await admin('GET', '/v1/admin/users/storm-1/credits'), { available: 95, ledgerBalance: 95 });
  t.same((await admin('POST', '/v1/admin/reconcile'))['drifted'], []);
});

t.test('a grant made through one process reaches sockets on both', async (t) => {
  await admin('PUT', '/v1/admin/users/pushed-1', { tier: 'basic' });
  const [left, right] = await socketsFor(t, 'pushed-1');
  await Promise.all([left.hello(), right.hello()]);
  await admin('POST', '/v1/admin/users/pushed-1/grants', { amount: 11, id: 'cross-node' });
  t.match(await left.takeType('balance'), { balance: { available: 211 } });
  t.match(await right.takeType('balance'), { balance: { available: 211 } });
});
