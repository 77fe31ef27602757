import t from 'tap';
import { startEchoServer } from '../../server/src/gateway/echo.js';
import { startTestServer } from '../../server/test/support/server.js';
import { admin, createUser } from '../../server/test/support/fresh.js';
import { checkCorrectness } from '../src/correctness.js';
import { Driver, type SessionSpec } from '../src/driver.js';
import { decodeHistogram, encodeHistogram, newHistogram, percentilesOf, recordMs } from '../src/histogram.js';
import { mergeSnapshots } from '../src/generators.js';
import { baseSpec } from '../src/scenarios.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const context = { genre: 'techno', mood: 'energetic', energy: 0.7 };

t.test('latency histograms keep their percentiles through encoding and merge without loss', async (t) => {
  const first = newHistogram();
  const second = newHistogram();
  for (let ms = 1; ms <= 100; ms += 1) recordMs(first, ms);
  for (let ms = 101; ms <= 200; ms += 1) recordMs(second, ms);
  const merged = mergeSnapshots([first, second].map((histogram) => ({
    counts: { nextsSent: 100, frames: { library: 100, fresh: 0 } }, library: decodeHistogram(encodeHistogram(histogram)), fresh: newHistogram(),
    pending: newHistogram(), echo: newHistogram(), connect: newHistogram(), outstanding: 1, live: 2, sessions: 3,
  } as never)));
  const percentiles = percentilesOf(merged.library);
  t.equal(percentiles.count, 200);
  t.ok(Math.abs(percentiles.p50Ms - 100) < 0.2, `p50 ${percentiles.p50Ms}`);
  t.ok(Math.abs(percentiles.p99Ms - 198) < 0.3, `p99 ${percentiles.p99Ms}`);
  t.equal(merged.counts.nextsSent, 200, 'counts add up');
  t.equal(merged.counts.frames.library, 200, 'nested counts add up');
  t.same([merged.outstanding, merged.live, merged.sessions], [2, 4, 6]);
});

t.test('against the echo, every request of every session is answered in order and measured', async (t) => {
  const echo = await startEchoServer({ host: '127.0.0.1', port: 0, replyBytes: 300 });
  t.teardown(() => echo.close());
  const driver = new Driver({ urls: [`ws://127.0.0.1:${echo.port}/v1/stream`], target: 'echo', connectPerSecond: 1000, prefix: 't', seed: 1 });
  const specs: SessionSpec[] = Array.from({ length: 20 }, (_, index) => ({
    ...baseSpec({ id: `u${index}`, token: 'unused' }, 'd', 'landscape', [context]), intervalMs: [50, 100] as [number, number],
  }));
  driver.add(specs);
  while (driver.live() < specs.length) await sleep(20);
  await sleep(600);
  driver.stopSending();
  while (driver.outstanding() > 0) await sleep(20);
  const { counts, echo: latency } = driver.snapshot();
  driver.closeAll();
  t.ok(counts.nextsSent > 60, `${counts.nextsSent} requests sent`);
  t.equal(counts.frames.library, counts.nextsSent, 'each next answered once');
  t.equal(counts.acks, counts.beaconsSent, 'each beacon answered once');
  t.equal(latency.totalCount, counts.nextsSent, 'each answer measured');
  t.equal(echo.stats().connections, 20);
});

t.test('against Titrate, sessions stream library frames, beacons are acknowledged and the ledger checks out', async (t) => {
  const server = await startTestServer(t, 'memory');
  // A tier without credits: every decision is a library frame, answered at once.
  await admin(server, 'PUT', '/v1/admin/tiers/lt-library', { baseQuota: 0 });
  const users = ['lt-t-0', 'lt-t-1', 'lt-t-2'];
  for (const user of users) await createUser(server, user, 'lt-library');
  const driver = new Driver({ urls: [server.url.replace(/^http/, 'ws') + '/v1/stream'], target: 'titrate', connectPerSecond: 100, prefix: 't', seed: 2 });
  const specs: SessionSpec[] = [];
  for (const user of users) {
    const token = await server.tokens.issue(user, 600);
    for (const device of ['a', 'b']) specs.push({ ...baseSpec({ id: user, token }, device, 'landscape', [context, { ...context, mood: 'calm' }]), intervalMs: [100, 150], contextEvery: 3 });
  }
  driver.add(specs);
  while (driver.live() < specs.length) await sleep(20);
  await sleep(1500);
  driver.stopSending();
  for (let waited = 0; driver.outstanding() > 0 && waited < 30_000; waited += 50) await sleep(50);
  const { counts } = driver.snapshot();
  driver.closeAll();
  t.equal(driver.outstanding(), 0, 'nothing unanswered');
  t.ok(counts.nextsSent >= 40, `${counts.nextsSent} requests`);
  t.equal(counts.frames.library + counts.frames.fresh, counts.nextsSent, 'every next got one frame');
  t.equal(counts.acks, counts.beaconsSent, 'every beacon acknowledged');
  t.same(counts.errors, {});
  const adminCall = async (method: string, route: string, body?: unknown) => {
    const response = await fetch(`${server.url}${route}`, { method, headers: { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/json' }, body: JSON.stringify(body ?? {}) });
    return response.json();
  };
  t.equal((await fetch(`${server.url}/v1/admin/gc`, { method: 'POST', headers: { authorization: `Bearer ${server.adminToken}` } })).status, 409, 'no forced collection without --expose-gc');
  const correctness = await checkCorrectness({ databaseUrl: server.databaseUrl, userPrefix: 'lt-t-', unanswered: driver.outstanding(), admin: adminCall, settleTimeoutMs: 30_000 });
  t.match(correctness, { unanswered: 0, ledgerConsistent: true, negativeBalances: 0, unmatchedDebits: 0, stillOpen: 0 });
});
