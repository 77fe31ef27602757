/**
 * Beacons become rewards, rewards teach the bandit, and every decision carries its propensity:
 * spoken over a real socket to a real server (real PostgreSQL, the in-process engine).
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import t from 'tap';
import { ErrorCode, StockMessage } from '@titrate/shared';
import { TestClient } from '../support/client.js';
import { admin, burstPlayer, createUser, nextFrame } from '../support/fresh.js';
import { startTestServer } from '../support/server.js';

const context = { genre: 'techno', mood: 'energetic', energy: 0.8 };

t.test('beacons', async (t) => {
  const server = await startTestServer(t, 'memory', { BANDIT_WARMUP_PULLS: '1', BEACON_WINDOW_MS: '1500' });
  const pool = new pg.Pool({ connectionString: server.databaseUrl, max: 2 });
  t.teardown(() => pool.end());
  // A tier without credits: every frame is library, so its users are the library arm.
  await admin(server, 'PUT', '/v1/admin/tiers/trial', { baseQuota: 0 });
  await createUser(server, 'listener', 'trial');
  await createUser(server, 'stranger', 'trial');
  const connect = async (user: string) => {
    const client = await TestClient.connect(server.url, await server.tokens.issue(user, 600));
    t.teardown(() => client.close());
    await client.hello({ context });
    return client;
  };
  const beacon = async (client: TestClient, frame: string, id: string, extra: Record<string, unknown> = {}) => {
    client.send({ t: 'beacon', frame, id, dwellMs: 0, ...extra });
    return client.take((message) => message.t === 'ack' && message['req'] === id);
  };
  const segments = async () => (await admin(server, 'GET', '/v1/admin/bandit/segments')).body;

  t.test('a frame watched 10 s is rewarded, a glance is not, a like is', async (t) => {
    const client = await connect('listener');
    const frames = [];
    for (const id of ['r1', 'r2', 'r3']) frames.push((await nextFrame(client, id)).frame);
    t.match(await beacon(client, String(frames[0]!['id']), 'b1', { dwellMs: 12_000 }), { ok: true, reward: 1, counted: true });
    t.match(await beacon(client, String(frames[1]!['id']), 'b2', { dwellMs: 2_000 }), { ok: true, reward: 0 });
    t.match(await beacon(client, String(frames[2]!['id']), 'b3', { dwellMs: 500, liked: true }), { ok: true, reward: 1 });
    const report = await segments();
    t.match(report.segments.find((segment: { segment: string }) => segment.segment === 'trial|techno|energetic'), {
      arms: { library: { pulls: 3, rewards: 2 }, fresh: { pulls: 0, rewards: 0 } },
    });
  });

  t.test('duplicate, foreign, unknown and late beacons are refused with a code and never counted', async (t) => {
    const client = await connect('listener');
    const stranger = await connect('stranger');
    const { frame } = await nextFrame(client, 'd1');
    const before = await segments();
    t.match(await beacon(client, String(frame['id']), 'once', { dwellMs: 20_000 }), { ok: true, reward: 1 });
    t.match(await beacon(client, String(frame['id']), 'once'), { ok: false, code: ErrorCode.duplicateBeacon }, 'a replay of the same beacon');
    t.match(await beacon(client, String(frame['id']), 'twice'), { ok: false, code: ErrorCode.duplicateBeacon }, 'a second beacon for the frame');
    t.match(await beacon(stranger, String(frame['id']), 'theirs'), { ok: false, code: ErrorCode.foreignBeacon });
    t.match(await beacon(client, 'no-such-decision', 'unknown'), { ok: false, code: ErrorCode.unknownFrame });
    client.send({ t: 'beacon', frame: 'no-such-decision', dwellMs: 1 });
    t.match(await client.takeType('error'), { code: ErrorCode.unknownFrame }, 'without an id the refusal is an error');
    const late = (await nextFrame(client, 'd2')).frame;
    await new Promise((resolve) => setTimeout(resolve, 1_700));
    t.match(await beacon(client, String(late['id']), 'late', { dwellMs: 20_000 }), { ok: false, code: ErrorCode.lateBeacon });
    const after = await segments();
    const pulls = (report: any) => report.segments.find((segment: { segment: string }) => segment.segment === 'trial|techno|energetic').arms.library.pulls;
    t.equal(pulls(after), pulls(before) + 1, 'only the first beacon counted');
  });

  t.test('each decision is journaled with its propensity and segment, and its reward joins it', async (t) => {
    const client = await connect('listener');
    const { frame } = await nextFrame(client, 'j1');
    await beacon(client, String(frame['id']), 'j1-beacon', { dwellMs: 11_000 });
    await server.flushJournal();
    const { rows } = await pool.query(
      `SELECT d.p, d.propensity, d.source, d.segment, d.eligible, d.bandit, r.reward, r.dwell_ms
         FROM decisions d JOIN decision_rewards r ON r.decision_id = d.id AND r.decided_at = d.ts WHERE d.id = $1`,
      [frame['id']],
    );
    t.match(rows[0], { p: 0, propensity: 1, source: 'library', segment: 'trial|techno|energetic', eligible: false, reward: 1, dwell_ms: 11_000 });
    t.match(rows[0].bandit, { mode: 'on', algorithm: 'epsilon-greedy' }, 'the bandit looked at it');
  });

  t.test("a decision is journaled under the segment of the session's music at that moment", async (t) => {
    await createUser(server, 'switcher', 'trial');
    const client = await connect('switcher');
    const ambient = { genre: 'ambient', mood: 'calm', energy: 0.2 };
    const ids: string[] = [];
    for (const [id, change] of [['m1', undefined], ['m2', ambient], ['m3', undefined], ['m4', context], ['m5', undefined]] as const) {
      ids.push(String((await nextFrame(client, id, 20_000, change === undefined ? {} : { context: change })).frame['id']));
    }
    await server.flushJournal();
    const { rows } = await pool.query<{ id: string; segment: string }>(`SELECT id, segment FROM decisions WHERE user_id = 'switcher'`);
    const segmentOf = new Map(rows.map((row) => [row.id, row.segment]));
    t.same(
      ids.map((id) => segmentOf.get(id)),
      ['trial|techno|energetic', 'trial|ambient|calm', 'trial|ambient|calm', 'trial|techno|energetic', 'trial|techno|energetic'],
    );
  });

  t.test('once both arms are warm the bandit leans, and a rebuild from the log restores its statistics', async (t) => {
    await createUser(server, 'raver', 'trial');
    await admin(server, 'POST', '/v1/admin/users/raver/grants', { amount: 100, id: 'raver-grant' });
    const raver = await burstPlayer(server, 'raver', { context });
    t.teardown(() => raver.close());
    for (const id of ['f1', 'f2']) {
      const { frame } = await nextFrame(raver, id);
      t.equal(frame['source'], 'fresh');
      t.match(await beacon(raver, String(frame['id']), `${id}-beacon`, { dwellMs: 30_000 }), { ok: true, reward: 1 });
    }
    const listener = await connect('listener');
    const { frame } = await nextFrame(listener, 'after-warm');
    await server.flushJournal();
    const { rows } = await pool.query(`SELECT bandit FROM decisions WHERE id = $1`, [frame['id']]);
    t.match(rows[0].bandit, { mode: 'on' });
    t.ok([0.85, 1.15].includes(rows[0].bandit.drawn), 'a warm segment gets a direction');
    t.equal(rows[0].bandit.multiplier, 1, 'but a user without credits gets none applied: the constraint comes first');

    const live = (await segments()).segments.find((segment: { segment: string }) => segment.segment === 'trial|techno|energetic');
    t.match(live, { warm: true, arms: { fresh: { pulls: 2, rewards: 2 } } });
    await server.flushJournal();
    const rebuilt = await admin(server, 'POST', '/v1/admin/bandit/rebuild', { sinceDays: 7 });
    t.equal(rebuilt.status, 200);
    const after = (await segments()).segments.find((segment: { segment: string }) => segment.segment === 'trial|techno|energetic');
    t.same(after.arms, live.arms, 'the log holds every counted beacon');
    t.match(await admin(server, 'POST', '/v1/admin/bandit/rebuild', { sinceDays: 0 }), { status: 400, body: { error: { code: 'invalid_body' } } });
  });

  t.test('npm run ope estimates every candidate policy from the log, with intervals', async (t) => {
    await server.flushJournal();
    const ope = (args: string[]) =>
      promisify(execFile)(process.execPath, ['--import', 'tsx', path.join('server', 'src', 'bin', 'ope.ts'), ...args], {
        env: { ...process.env, DATABASE_URL: server.databaseUrl }, timeout: 60_000,
      }).then(
        ({ stdout }) => ({ code: 0, stdout, stderr: '' }),
        (error: { code: number; stdout: string; stderr: string }) => ({ code: error.code, stdout: error.stdout, stderr: error.stderr }),
      );
    const all = await ope(['--policy', 'all', '--since', '2020-01-01']);
    t.equal(all.code, 0, all.stderr);
    for (const policy of ['logged', 'controller', 'epsilon-greedy', 'thompson', 'ucb']) t.match(all.stdout, `policy ${policy}:`);
    t.match(all.stdout, /IPS\s+[0-9.]+\s+\[[0-9.-]+, [0-9.-]+\]/);
    t.match(all.stdout, /doubly robust/);
    t.match(await ope(['--policy', 'greedy-nonsense']), { code: 2, stderr: /unknown policy/ });
    t.match(await ope(['--policy', 'logged', '--since', 'yesterday-ish']), { code: 2, stderr: /not a date/ });
    t.match(await ope(['--policy', 'logged', '--since', '2999-01-01']), { code: 1, stderr: /no evaluable decisions/ });
  });

  t.test('stock frames are unseen and distinct, and count only once a beacon reports them shown offline', async (t) => {
    await createUser(server, 'commuter', 'trial');
    const client = await connect('commuter');
    client.send({ t: 'stock', id: 's1', count: 4 });
    const stock = StockMessage.parse(await client.takeType('stock'));
    t.equal(stock.req, 's1');
    t.ok(stock.frames.length >= 2, `${stock.frames.length} frames`);
    t.equal(new Set(stock.frames.map((frame) => frame.frameId)).size, stock.frames.length, 'no frame twice');
    const image = await fetch(new URL(stock.frames[0]!.url, server.url));
    t.equal(image.status, 200);
    client.send({ t: 'stock', id: 's2', count: 11 });
    t.match(await client.takeType('error'), { code: ErrorCode.invalidMessage, req: 's2' }, 'at most 10 at a time');

    const offline = stock.frames[0]!;
    t.match(await beacon(client, offline.id, 'o1', { dwellMs: 15_000, offline: true, shownAt: Date.now() - 60_000 }), { ok: true, reward: 1, counted: false });
    t.match(await beacon(client, offline.id, 'o1', { dwellMs: 15_000, offline: true }), { ok: false, code: ErrorCode.duplicateBeacon }, 'a replayed sync');
    const { frame } = await nextFrame(client, 'after-offline');
    t.match(frame['mix'], { library: 2, fresh: 0 }, 'the offline frame joined the mix once');
    t.not(frame['frameId'], offline.frameId, 'and counts as seen');
  });
});

t.test('rollout switches', async (t) => {
  t.test('shadow computes and logs the nudge but leaves p alone; off logs nothing', async (t) => {
    const server = await startTestServer(t, 'memory', { BANDIT: 'shadow', BANDIT_TIERS: 'free:off' });
    const pool = new pg.Pool({ connectionString: server.databaseUrl, max: 2 });
    t.teardown(() => pool.end());
    await admin(server, 'PUT', '/v1/admin/tiers/free', { baseQuota: 0 });
    await createUser(server, 'quiet', 'free');
    const demo = await TestClient.connect(server.url, await server.tokens.issue('demo', 600));
    const quiet = await TestClient.connect(server.url, await server.tokens.issue('quiet', 600));
    t.teardown(() => demo.close());
    t.teardown(() => quiet.close());
    await demo.hello({ context });
    await quiet.hello({ context });
    const shadowed = (await nextFrame(demo, 'x')).frame;
    const off = (await nextFrame(quiet, 'y')).frame;
    await server.flushJournal();
    const { rows } = await pool.query(`SELECT id, bandit, factors FROM decisions WHERE id = ANY($1)`, [[shadowed['id'], off['id']]]);
    const byId = new Map(rows.map((row) => [row.id, row]));
    t.match(byId.get(shadowed['id']).bandit, { mode: 'shadow' });
    t.notOk('nudge' in byId.get(shadowed['id']).factors, 'no multiplier reached the controller');
    t.equal(byId.get(off['id']).bandit, null);
  });

  t.test('a bad switch stops the start with a message naming it', async (t) => {
    await t.rejects(startTestServer(t, 'memory', { BANDIT: 'sometimes' }), /BANDIT must be one of on, off, shadow/);
    await t.rejects(startTestServer(t, 'memory', { BANDIT_TIERS: 'pro=on' }), /BANDIT_TIERS must be a comma-separated list/);
    await t.rejects(startTestServer(t, 'memory', { BANDIT_NUDGE_MAX: '0.3' }), /BANDIT_NUDGE_MAX must be a number from 0 to 0.15/);
  });
});

t.test('GET /v1/auth/check answers whether the stream would accept a token', async (t) => {
  const server = await startTestServer(t, 'memory');
  const check = async (headers: Record<string, string>, query = '') => {
    const response = await fetch(`${server.url}/v1/auth/check${query}`, { headers });
    return { status: response.status, body: await response.json() };
  };
  const token = await server.tokens.issue('demo', 600);
  t.match(await check({ authorization: `Bearer ${token}` }), { status: 200, body: { user: 'demo' } });
  t.match(await check({}, `?token=${token}`), { status: 200 });
  t.match(await check({}), { status: 401, body: { error: { code: 'missing_token' } } });
  t.match(await check({ authorization: 'Bearer nonsense' }), { status: 401, body: { error: { code: 'invalid_token' } } });
  t.match(await check({ authorization: `Bearer ${await server.tokens.issue('ghost', 600)}` }), { status: 403, body: { error: { code: 'unknown_user' } } });
  const preflight = await fetch(`${server.url}/v1/auth/check`, { method: 'OPTIONS', headers: { origin: 'https://player.example', 'access-control-request-headers': 'authorization' } });
  t.equal(preflight.status, 204, 'a player on another origin may ask');
  t.match(preflight.headers.get('access-control-allow-headers'), /authorization/);
  const answer = await fetch(`${server.url}/v1/auth/check`, { headers: { authorization: `Bearer ${token}`, origin: 'https://player.example' } });
  t.equal(answer.headers.get('access-control-allow-origin'), '*');
});
