/**
 * The WebSocket contract, spoken over a real socket to a real server (real PostgreSQL, the given
 * session-state engine). Run once per engine.
 */
import { SignJWT, UnsecuredJWT } from 'jose';
import net from 'node:net';
import sharp from 'sharp';
import type { Test } from 'tap';
import { CloseCode, ErrorCode, FrameMessage, Welcome, protocolLimits } from '@titrate/shared';
import { TestClient, upgradeStatus, type Received } from '../support/client.js';
import { admin, createUser } from '../support/fresh.js';
import { startTestServer, type EngineKind } from '../support/server.js';
import { UserDirectory } from '../../src/users/directory.js';

export function streamSuite(t: Test, engine: EngineKind): void {
  let server: Awaited<ReturnType<typeof startTestServer>>;
  let demoToken: string;
  let listenerToken: string;

  t.before(async () => {
    server = await startTestServer(t, engine);
    demoToken = await server.tokens.issue('demo', 600);
    // The protocol's library path, without the controller's fresh frames: a plan with no credits.
    await admin(server, 'PUT', '/v1/admin/tiers/library-only', { baseQuota: 0 });
    await createUser(server, 'listener', 'library-only');
    listenerToken = await server.tokens.issue('listener', 600);
  });

  const connect = async (t: Test, options: Parameters<typeof TestClient.connect>[2] & { token?: string } = {}) => {
    const client = await TestClient.connect(server.url, options.token ?? listenerToken, options);
    t.teardown(() => client.close());
    return client;
  };

  t.test('refuses missing, forged, expired, unsigned and unknown-user tokens before the upgrade', async (t) => {
    t.match(await upgradeStatus(server.url, {}), { status: 401, body: /missing_token/ });
    const forged = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('demo').setExpirationTime('1h')
      .sign(new TextEncoder().encode('not-the-server-secret-not-the-server-secret'));
    t.match(await upgradeStatus(server.url, { query: `?token=${forged}` }), { status: 401, body: /invalid_token/ });
    const expired = await server.tokens.issue('demo', 1, Date.now() - 60_000);
    t.match(await upgradeStatus(server.url, { query: `?token=${expired}` }), { status: 401, body: /expired/ });
    const unsigned = new UnsecuredJWT({}).setSubject('demo').setExpirationTime('1h').encode();
    t.match(await upgradeStatus(server.url, { query: `?token=${unsigned}` }), { status: 401 });
    const stranger = await server.tokens.issue('nobody-knows-me', 600);
    t.match(await upgradeStatus(server.url, { query: `?token=${stranger}` }), { status: 403, body: /unknown_user/ });
    for (const impossible of ['with space', 'nul\u0000', 'x'.repeat(129)]) {
      const token = await server.tokens.issue(impossible, 600);
      t.match(await upgradeStatus(server.url, { query: `?token=${token}` }), { status: 403, body: /unknown_user/ }, JSON.stringify(impossible));
    }
    t.match(await upgradeStatus(server.url, { headers: { authorization: 'Bearer garbage' } }), { status: 401 });
  });

  t.test('refuses a handshake that does not ask for the upgrade, with 400 and no socket', async (t) => {
    const answer = await rawHandshake(server.url, demoToken, 'close');
    t.match(answer, /^HTTP\/1\.1 400 /);
    t.match(answer, /bad_handshake/);
    t.match(await rawHandshake(server.url, demoToken, 'keep-alive, Upgrade'), /^HTTP\/1\.1 101 /, 'Upgrade among other tokens is fine');
  });

  t.test('accepts a token in the Authorization header', async (t) => {
    const client = await connect(t, { viaHeader: true, token: demoToken });
    const welcome = await client.hello();
    t.equal(welcome['tier'], 'basic');
  });

  t.test('a socket is closed with 4001 when its token expires, and its session resumes with a new token', async (t) => {
    const client = await connect(t, { token: await server.tokens.issue('listener', 2) });
    const welcome = await client.hello();
    const closed = await Promise.race([client.closed, new Promise<null>((resolve) => setTimeout(() => resolve(null), 10_000))]);
    t.match(closed, { code: CloseCode.sessionExpired, reason: 'token expired' });
    const again = await connect(t);
    t.match(await again.hello({ resume: welcome['session'] }), { resumed: true, session: welcome['session'] });
  });

  t.test('a connection reads its account once, when it is accepted, and a tier changed since shows on the next one', async (t) => {
    await createUser(server, 'switcher', 'basic');
    const token = await server.tokens.issue('switcher', 600);
    let reads = 0;
    const original = UserDirectory.prototype.getAccount;
    UserDirectory.prototype.getAccount = function (this: UserDirectory, userId: string) {
      if (userId === 'switcher') reads += 1;
      return original.call(this, userId);
    };
    t.teardown(() => {
      UserDirectory.prototype.getAccount = original;
    });
    const first = await connect(t, { token });
    t.equal((await first.hello())['tier'], 'basic');
    t.equal(reads, 1, 'the upgrade read it and hello took that read');
    await admin(server, 'PUT', '/v1/admin/users/switcher/tier', { tier: 'premium' });
    const second = await connect(t, { token });
    t.equal((await second.hello())['tier'], 'premium');
    t.equal(reads, 2);
  });

  t.test('hello is answered with a welcome that matches the contract', async (t) => {
    const client = await connect(t, { token: demoToken });
    const welcome = Welcome.parse(await client.hello());
    t.match(welcome, { tier: 'basic', unlimited: false, conserve: false, burstUntil: null, mix: { fresh: 0, library: 0 }, resumed: false });
    t.equal(welcome.balance.available, 200);
    t.ok(Date.parse(welcome.balance.cycleEnd) > Date.now());
  });

  t.test('messages sent right behind hello, before its welcome, are answered after the welcome and in order', async (t) => {
    for (const encoding of ['json', 'msgpack'] as const) {
      const client = await connect(t, { encoding });
      client.send({ t: 'hello', v: 1, orientation: 'landscape', context: { genre: 'techno', mood: 'energetic', energy: 0.8 } });
      client.send({ t: 'next', id: 'behind-1' });
      client.send({ t: 'beacon', id: 'behind-2', frame: 'no-such-frame', dwellMs: 100 });
      client.send({ t: 'next', id: 'behind-3' });
      const answers = [await client.take(), await client.take(), await client.take(), await client.take()];
      t.same(
        answers.map((answer) => [answer.t, answer['req'] ?? null]),
        [['welcome', null], ['frame', 'behind-1'], ['ack', 'behind-2'], ['frame', 'behind-3']],
        `${encoding}: the welcome first, then each message's answer in the order they were sent`,
      );
    }
  });

  t.test('next is answered with a library frame that is fetchable over HTTP', async (t) => {
    const client = await connect(t);
    await client.hello({ orientation: 'portrait' });
    const frame = FrameMessage.parse(await client.next('n1'));
    t.match(frame, { req: 'n1', source: 'library', charged: 0, orientation: 'portrait', fallback: 'exact', p: 0, mix: { library: 1, fresh: 0 } });
    const response = await fetch(new URL(frame.url, server.url));
    t.equal(response.status, 200);
    t.equal(response.headers.get('content-type'), 'image/webp');
    t.match(response.headers.get('cache-control'), /immutable/);
    const metadata = await sharp(Buffer.from(await response.arrayBuffer())).metadata();
    t.same([metadata.width, metadata.height], [frame.width, frame.height]);
  });

  t.test('MessagePack clients are answered in MessagePack', async (t) => {
    const client = await connect(t, { encoding: 'msgpack' });
    await client.hello();
    const frame = await client.next('m1');
    t.equal(frame.t, 'frame');
  });

  t.test("answers come in the encoding of the last message before hello, then in hello's whatever comes later", async (t) => {
    const client = await connect(t, { encoding: 'msgpack' });
    client.sendRaw(JSON.stringify({ t: 'next', id: 'early' }), false);
    t.match(await client.take(), { t: 'error', code: ErrorCode.outOfOrder, req: 'early' });
    await client.hello();
    client.sendRaw(JSON.stringify({ t: 'next', id: 'late' }), false);
    t.match(await client.take((message) => message['req'] === 'late'), { t: 'frame', req: 'late' });
    t.same(client.encodings, ['json', 'msgpack', 'msgpack'], 'the early error in JSON; the welcome and the later frame in MessagePack, as hello was');
  });

  t.test('the same next id returns the same decision and counts once', async (t) => {
    const client = await connect(t);
    await client.hello();
    const first = await client.next('same');
    const again = await client.next('same');
    t.equal(again['id'], first['id']);
    t.equal(again['frameId'], first['frameId']);
    t.same(again['mix'], { fresh: 0, library: 1 });
    const mismatch = await client.next('same', { context: { genre: 'ambient', mood: 'calm', energy: 0.1 } });
    t.match(mismatch, { t: 'error', code: ErrorCode.idempotencyMismatch, req: 'same' });
  });

  t.test('a user does not see a frame twice until the genre and mood are exhausted, own orientation first', async (t) => {
    await createUser(server, 'exhauster', 'library-only');
    const client = await connect(t, { token: await server.tokens.issue('exhauster', 600) });
    await client.hello({ orientation: 'square', context: { genre: 'ambient', mood: 'calm', energy: 0.2 } });
    const frames: Received[] = [];
    for (let index = 0; index < 9; index += 1) frames.push(await client.next(`u${index}`));
    t.equal(new Set(frames.map((frame) => frame['frameId'])).size, 9, 'nine different frames: 3 square, 3 landscape and 3 portrait masters');
    t.same(frames.slice(0, 3).map((frame) => frame['fallback']), ['exact', 'exact', 'exact'], 'the square masters come first');
    t.ok(frames.slice(3).every((frame) => frame['fallback'] === 'crop' || frame['fallback'] === 'fill'), 'then the others, adapted to the square screen');
    t.ok(frames.every((frame) => frame['orientation'] === 'square'));
    const tenth = await client.next('u9');
    t.ok(frames.some((frame) => frame['frameId'] === tenth['frameId']), 'then frames come back');
  });

  t.test('a context change moves the show to the new bucket', async (t) => {
    const client = await connect(t);
    await client.hello();
    client.send({ t: 'context', context: { genre: 'Ambient', mood: 'chill', energy: 0.1 } });
    const frame = await client.next('c1');
    t.match(frame, { genre: 'ambient', mood: 'calm' });
  });

  t.test('commands before hello are out of order; the socket stays open', async (t) => {
    const client = await connect(t);
    client.send({ t: 'next', id: 'early' });
    t.match(await client.takeType('error'), { code: ErrorCode.outOfOrder, req: 'early' });
    await client.hello();
    client.send({ t: 'hello', v: 1, orientation: 'landscape', context: { genre: 'a', mood: 'b', energy: 0 } });
    t.match(await client.takeType('error'), { code: ErrorCode.outOfOrder });
    t.equal((await client.next('after')).t, 'frame');
  });

  t.test('an unsupported protocol version is refused and hello can be retried', async (t) => {
    const client = await connect(t);
    client.send({ t: 'hello', v: 2, orientation: 'landscape', context: { genre: 'a', mood: 'b', energy: 0 } });
    t.match(await client.takeType('error'), { code: ErrorCode.unsupportedVersion });
    t.equal((await client.hello()).t, 'welcome');
  });

  t.test('bad bytes, unknown types and invalid fields get coded errors and the session goes on', async (t) => {
    const client = await connect(t);
    await client.hello();
    client.sendRaw('{"t":', false);
    t.match(await client.takeType('error'), { code: ErrorCode.badEncoding });
    client.sendRaw(new Uint8Array([0xa5, 0x61]), true);
    t.match(await client.takeType('error'), { code: ErrorCode.badEncoding });
    client.send({ t: 'dance', id: 'd1' });
    t.match(await client.takeType('error'), { code: ErrorCode.unknownType, req: 'd1' });
    client.send({ t: 'next', id: 'e1', context: { genre: 'techno', mood: 'dark', energy: 3 } });
    t.match(await client.takeType('error'), { code: ErrorCode.invalidMessage, req: 'e1' });
    client.send({ t: 'next', id: 'x'.repeat(65) });
    t.match(await client.takeType('error'), { code: ErrorCode.invalidMessage });
    client.send({ t: 'beacon', frame: 'f', dwellMs: -5 });
    t.match(await client.takeType('error'), { code: ErrorCode.invalidMessage });
    client.send({ t: 'next', id: 'nul\u0000' });
    const nul = await client.takeType('error');
    t.match(nul, { code: ErrorCode.badMessage, message: 'strings must not contain U+0000' });
    t.notOk('req' in nul, 'an id that is itself the problem is not sent back');
    client.sendRaw(JSON.stringify({ t: 'next', id: 'lone', context: { genre: 'techno\ud800', mood: 'dark', energy: 0.5 } }), false);
    t.match(await client.takeType('error'), { code: ErrorCode.badMessage, req: 'lone', message: 'strings must be well-formed Unicode (no lone surrogates)' });
    t.equal((await client.next('still-alive')).t, 'frame');
  });

  t.test('a message over the protocol size limit closes the socket with 1009, after answering what came before', async (t) => {
    const client = await connect(t);
    await client.hello();
    client.send({ t: 'next', id: 'before-big' });
    client.sendRaw(JSON.stringify({ t: 'next', id: 'big', pad: 'x'.repeat(protocolLimits.messageBytesMax) }), false);
    const closed = await client.closed;
    t.equal(closed.code, CloseCode.messageTooBig);
    t.ok(client.received.some((message) => message.t === 'frame' && message['req'] === 'before-big'), 'the earlier next was answered');
  });

  t.test('a misbehaving client does not disturb another one', async (t) => {
    const calm = await connect(t);
    await calm.hello();
    const rude = await connect(t);
    rude.sendRaw(new Uint8Array([0xc1, 0xc1, 0xc1]), true);
    for (let index = 0; index < 100; index += 1) rude.sendRaw('nonsense', false);
    rude.sendRaw('y'.repeat(100_000), false);
    for (let index = 0; index < 5; index += 1) t.equal((await calm.next(`calm${index}`)).t, 'frame');
    t.equal((await rude.closed).code, CloseCode.messageTooBig);
    t.equal((await calm.next('calm-after')).t, 'frame');
  });

  t.test('a flood is rate limited with a coded error, not a crash', async (t) => {
    const client = await connect(t);
    await client.hello();
    for (let index = 0; index < 150; index += 1) client.send({ t: 'beacon', frame: 'f', dwellMs: index });
    const limited = await client.take((message) => message.t === 'error' && (message['code'] === ErrorCode.rateLimited || message['code'] === ErrorCode.overloaded));
    t.ok(limited);
  });

  t.test('a session resumes with its id and its mix', async (t) => {
    const first = await connect(t);
    const welcome = await first.hello();
    await first.next('r1');
    await first.next('r2');
    first.close();
    await first.closed;
    const second = await connect(t);
    const resumed = await second.hello({ resume: welcome['session'] });
    t.match(resumed, { session: welcome['session'], resumed: true, mix: { library: 2 } });
    const replay = await second.next('r1');
    t.equal(replay['req'], 'r1', 'decisions survive the reconnect');
    const unknown = await connect(t);
    const fresh = await unknown.hello({ resume: 'no-such-session' });
    t.equal(fresh['resumed'], false);
    t.not(fresh['session'], 'no-such-session');
    t.match(await unknown.takeType('notice'), { code: 'resume_unavailable' });
  });

  t.test('another user cannot resume a session that is not theirs', async (t) => {
    const owner = await connect(t);
    const welcome = await owner.hello();
    const intruder = await TestClient.connect(server.url, await server.tokens.issue('demo-dj', 600));
    t.teardown(() => intruder.close());
    const other = await intruder.hello({ resume: welcome['session'] });
    t.not(other['session'], welcome['session']);
  });

  t.test('conserve is acknowledged with a notice and remembered by the session', async (t) => {
    const client = await connect(t);
    const welcome = await client.hello();
    client.send({ t: 'conserve', on: true });
    t.match(await client.takeType('notice'), { code: 'conserve_on', text: /saving for later/ });
    client.close();
    const again = await connect(t);
    t.match(await again.hello({ resume: welcome['session'] }), { conserve: true });
  });

  t.test('burst is charged once per id and extends while active', async (t) => {
    const client = await TestClient.connect(server.url, await server.tokens.issue('demo-dj', 600));
    t.teardown(() => client.close());
    const welcome = await client.hello();
    const before = (welcome['balance'] as { available: number }).available;
    client.send({ t: 'burst', id: 'b1' });
    const first = await client.takeType('ack');
    t.match(first, { req: 'b1', ok: true, charged: 5, balance: { available: before - 5 } });
    const firstUntil = Date.parse(String(first['until']));
    t.ok(firstUntil > Date.now() + 14 * 60_000 && firstUntil <= Date.now() + 15 * 60_000 + 1000);
    client.send({ t: 'burst', id: 'b1' });
    t.match(await client.takeType('ack'), { req: 'b1', ok: true, charged: 5, replayed: true, until: first['until'], balance: { available: before - 5 } });
    client.send({ t: 'burst', id: 'b2' });
    const second = await client.takeType('ack');
    t.match(second, { ok: true, charged: 5, balance: { available: before - 10 } });
    t.ok(Date.parse(String(second['until'])) >= firstUntil + 15 * 60_000 - 1000, 'a second burst extends the first');
    const other = await TestClient.connect(server.url, await server.tokens.issue('demo-dj', 600));
    t.teardown(() => other.close());
    t.match(await other.hello(), { burstUntil: second['until'] }, 'another device sees the running burst');
  });
}

/** Sends a WebSocket handshake with the given `Connection` header; resolves with the response head. */
function rawHandshake(baseUrl: string, token: string, connection: string): Promise<string> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(url.port), url.hostname);
    let received = '';
    socket.on('connect', () => socket.write(
      `GET /v1/stream?token=${encodeURIComponent(token)} HTTP/1.1\r\nHost: ${url.host}\r\nUpgrade: websocket\r\nConnection: ${connection}\r\n`
      + 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
    ));
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
      if (received.includes('\r\n\r\n') && (received.startsWith('HTTP/1.1 101') || received.includes('}'))) socket.destroy();
    });
    socket.on('close', () => resolve(received));
    socket.on('error', reject);
  });
}
