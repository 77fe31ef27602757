import t from 'tap';
import { TestClient } from './support/client.js';
import { startTestServer } from './support/server.js';

let server: Awaited<ReturnType<typeof startTestServer>>;
t.before(async () => {
  server = await startTestServer(t, 'memory');
});

const admin = (method: string, path: string, body?: unknown, token: string | null = server.adminToken) =>
  fetch(new URL(path, server.url), {
    method,
    headers: { ...(token === null ? {} : { authorization: `Bearer ${token}` }), 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });

t.test('health and readiness answer 200 with their checks', async (t) => {
  t.equal((await fetch(new URL('/healthz', server.url))).status, 200);
  const ready = await fetch(new URL('/readyz', server.url));
  t.equal(ready.status, 200);
  t.match(await ready.json(), { status: 'ready', checks: { database: 'ok', engine: 'ok' } });
});

t.test('metrics are in Prometheus text format and count what happened', async (t) => {
  const client = await TestClient.connect(server.url, await server.tokens.issue('demo', 60));
  t.teardown(() => client.close());
  await client.hello();
  await client.next('metric-1');
  client.send({ t: 'warp' });
  await client.takeType('error');
  const response = await fetch(new URL('/metrics', server.url));
  t.match(response.headers.get('content-type'), /text\/plain/);
  const text = await response.text();
  t.match(text, /titrate_connections [1-9]/);
  t.match(text, /titrate_messages_in_total\{type="next"\} [1-9]/);
  t.match(text, /titrate_messages_out_total\{type="frame"\} [1-9]/);
  t.match(text, /titrate_decision_latency_seconds_bucket\{le="[0-9.]+",source="(library|fresh)"\}/);
  t.match(text, /titrate_errors_total\{code="unknown_type"\} [1-9]/);
});

t.test("closes are counted by the protocol's codes, and any other code a client sends is one label", async (t) => {
  const closesOf = async () => {
    const text = await (await fetch(new URL('/metrics', server.url))).text();
    return Object.fromEntries([...text.matchAll(/^titrate_closes_total\{code="([^"]+)"\} (\d+)$/gm)].map((match) => [match[1]!, Number(match[2])]));
  };
  const before = await closesOf();
  for (const code of [4321, 4500, 4999, 1000]) {
    const client = await TestClient.connect(server.url, await server.tokens.issue('demo', 60));
    await client.hello();
    client.close(code);
    await client.closed;
  }
  let after = await closesOf();
  for (let attempt = 0; attempt < 100 && (after['other'] ?? 0) - (before['other'] ?? 0) < 3; attempt += 1) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    after = await closesOf();
  }
  t.equal((after['other'] ?? 0) - (before['other'] ?? 0), 3, `three clients' own codes, one label: ${JSON.stringify(before)} → ${JSON.stringify(after)}`);
  t.ok((after['1000'] ?? 0) > (before['1000'] ?? 0), 'a normal close keeps its code');
  t.notOk(Object.keys(after).some((code) => ['4321', '4500', '4999'].includes(code)), 'no series per client code');
});

t.test('a frame is served with its type and immutable caching, and revalidates with 304', async (t) => {
  const client = await TestClient.connect(server.url, await server.tokens.issue('demo', 60));
  t.teardown(() => client.close());
  await client.hello();
  const frame = await client.next('http-1');
  const response = await fetch(new URL(String(frame['url']), server.url));
  t.equal(response.status, 200);
  const etag = response.headers.get('etag')!;
  t.ok(etag);
  const again = await fetch(new URL(String(frame['url']), server.url), { headers: { 'if-none-match': etag } });
  t.equal(again.status, 304);
  t.equal((await fetch(new URL('/v1/frames/0000000000000000', server.url))).status, 404);
  t.equal((await fetch(new URL('/v1/frames/..%2F..%2Fsecrets.json', server.url))).status, 404);
});

t.test('admin routes require the admin token', async (t) => {
  t.equal((await admin('PUT', '/v1/admin/tiers/gold', { baseQuota: 1000 }, null)).status, 401);
  const wrong = await admin('PUT', '/v1/admin/tiers/gold', { baseQuota: 1000 }, 'wrong-token-wrong-token');
  t.equal(wrong.status, 401);
  t.match(await wrong.json(), { error: { code: 'unauthorized' } });
});

t.test('a tier is created, then replaced', async (t) => {
  const created = await admin('PUT', '/v1/admin/tiers/gold', { baseQuota: 1000, rolloverCap: 4 });
  t.equal(created.status, 201);
  t.same(await created.json(), { tier: { name: 'gold', baseQuota: 1000, rolloverCap: 4, unlimited: false, annualRolloverCap: 6, regionMultipliers: {}, burstPrice: 5 } });
  const replaced = await admin('PUT', '/v1/admin/tiers/gold', { baseQuota: 1200 });
  t.equal(replaced.status, 200);
  t.match(await replaced.json(), { tier: { baseQuota: 1200, rolloverCap: 3 } });
});

t.test('bad admin bodies get 400 with a reason', async (t) => {
  const cases: Array<[string, unknown, RegExp]> = [
    ['/v1/admin/tiers/gold', '{not json', /invalid_json/],
    ['/v1/admin/tiers/gold', { baseQuota: -1 }, /baseQuota/],
    ['/v1/admin/tiers/gold', { baseQuota: 1.5 }, /baseQuota/],
    ['/v1/admin/tiers/Gold Tier', { baseQuota: 10 }, /invalid_name/],
    ['/v1/admin/users/u1', { tier: 'basic', tz: 'Mars/Base' }, /IANA/],
    ['/v1/admin/users/u1', {}, /tier/],
    ['/v1/admin/users/u1', { tier: 'basic\u0000' }, /invalid_body.*U\+0000/],
    ['/v1/admin/tiers/gold', { baseQuota: 10, ['regionMultipliers']: { ['eu\u0000']: 1 } }, /invalid_body.*U\+0000/],
    ['/v1/admin/users/u1', { tier: 'basic', team: 'crew\ud800' }, /invalid_body.*lone surrogates/],
    ['/v1/admin/tiers/gold', { baseQuota: 10_000_000, regionMultipliers: { CH: 1.25 } }, /regionMultipliers.*at most 10000000 credits/],
  ];
  for (const [path, body, reason] of cases) {
    const response = await admin('PUT', path, body);
    t.equal(response.status, 400, path);
    t.match(await response.text(), reason);
  }
  for (const name of ['Gold%20Tier', '%00', 'gold%00']) {
    const read = await admin('GET', `/v1/admin/tiers/${name}`);
    t.equal(read.status, 400, `GET ${name}`);
    t.match(await read.json(), { error: { code: 'invalid_name' } });
  }
});

t.test('a user is created on a tier and can then connect', async (t) => {
  const missingTier = await admin('PUT', '/v1/admin/users/newbie', { tier: 'platinum' });
  t.equal(missingTier.status, 404);
  t.match(await missingTier.json(), { error: { code: 'tier_not_found' } });
  const created = await admin('PUT', '/v1/admin/users/newbie', { tier: 'premium', tz: 'Europe/Berlin', annual: true, team: 'crew' });
  t.equal(created.status, 201);
  t.match(await created.json(), { user: { id: 'newbie', tier: 'premium', tz: 'Europe/Berlin', annual: true, team: 'crew', region: null } });
  const client = await TestClient.connect(server.url, await server.tokens.issue('newbie', 60));
  t.teardown(() => client.close());
  const welcome = await client.hello();
  t.match(welcome, { tier: 'premium', balance: { available: 600 } });
  const fetched = await admin('GET', '/v1/admin/users/newbie');
  t.match(await fetched.json(), { user: { id: 'newbie', baseQuota: 600 } });
});

t.test('an unlimited user is told so in the welcome', async (t) => {
  await admin('PUT', '/v1/admin/users/whale', { tier: 'unlimited' });
  const client = await TestClient.connect(server.url, await server.tokens.issue('whale', 60));
  t.teardown(() => client.close());
  t.match(await client.hello(), { tier: 'unlimited', unlimited: true });
});

t.test('unknown routes and oversized bodies are refused clearly', async (t) => {
  const unknown = await admin('GET', '/v1/nowhere');
  t.equal(unknown.status, 404);
  t.match(await unknown.json(), { error: { code: 'not_found' } });
  const huge = await admin('PUT', '/v1/admin/tiers/gold', JSON.stringify({ baseQuota: 1, pad: 'x'.repeat(100_000) }));
  t.equal(huge.status, 413);
  t.equal((await fetch(new URL('/v1/stream', server.url))).status, 426);
});
