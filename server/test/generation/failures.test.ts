import { rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import t from 'tap';
import { LocalProvider } from '../../src/generation/providers/local.js';
import type { ImageProvider, ImageRequest, ProviderImage } from '../../src/generation/providers/provider.js';
import { FakeImageApi, type FakeBehaviour, type FakeMode } from '../support/fakeImageApi.js';
import { available, burstPlayer, createUser, debitsAndRefunds, nextFrame, until } from '../support/fresh.js';
import { startTestServer } from '../support/server.js';
import { testDirectory } from '../support/services.js';

const failures: Array<{ name: string; behaviour: FakeMode | FakeBehaviour; reason: RegExp }> = [
  { name: 'a provider error (500)', behaviour: 'fail', reason: /unavailable/ },
  { name: 'a provider that hangs past GEN_TIMEOUT_MS', behaviour: 'hang', reason: /timeout/ },
  { name: 'a 429 whose Retry-After is beyond the deadline', behaviour: { mode: 'rate_limit', retryAfter: '120' }, reason: /rate_limited/ },
  { name: 'a body that is not JSON', behaviour: { mode: 'malformed', variant: 'not_json' }, reason: /malformed/ },
  { name: 'base64 that is not an image', behaviour: { mode: 'malformed', variant: 'not_an_image' }, reason: /malformed/ },
];

t.test('every failing generation is refunded exactly once and its next still gets a frame', async (t) => {
  const fake = await FakeImageApi.start(t);
  const server = await startTestServer(t, 'memory', { GEN_PROVIDER: 'sd', SD_BASE_URL: fake.url, GEN_TIMEOUT_MS: '1500' });
  await createUser(server, 'unlucky');
  const client = await burstPlayer(server, 'unlucky');
  t.teardown(() => client.close());
  const afterBurst = await available(server, 'unlucky');
  for (const [index, failure] of failures.entries()) {
    fake.behave(failure.behaviour);
    const { pending, frame } = await nextFrame(client, `fail-${index}`);
    t.ok(pending !== null, `${failure.name}: answered pending first`);
    t.match(frame, { t: 'frame', source: 'library', fallback: 'generation_failed', charged: 0 }, `${failure.name}: a library frame stands in`);
    t.ok((frame['reasons'] as string[]).some((reason) => failure.reason.test(reason)), `${failure.name}: the reason says ${failure.reason}`);
  }
  const { debits, refundsByDebit } = await debitsAndRefunds(server, 'unlucky');
  t.equal(debits.length, failures.length, 'one debit per fresh decision');
  for (const debit of debits) t.equal(refundsByDebit.get(debit.id), 1, `debit ${debit.id} has exactly one refund`);
  t.equal(await available(server, 'unlucky'), afterBurst, 'the balance is whole again');
  t.ok(client.received.filter((message) => message.t === 'balance').length >= 1, 'refunds are pushed as balance messages');
  await server.sweep();
  t.equal((await debitsAndRefunds(server, 'unlucky')).refundsByDebit.size, failures.length, 'a later sweep refunds nothing twice');
  client.close();
});

t.test('a 429 with a short Retry-After is retried and the frame still arrives fresh', async (t) => {
  const fake = await FakeImageApi.start(t);
  const server = await startTestServer(t, 'memory', { GEN_PROVIDER: 'sd', SD_BASE_URL: fake.url, GEN_TIMEOUT_MS: '5000' });
  await createUser(server, 'patient');
  fake.queue({ mode: 'rate_limit', retryAfter: '0' });
  const client = await burstPlayer(server, 'patient');
  t.teardown(() => client.close());
  const { frame } = await nextFrame(client, 'retry');
  t.match(frame, { source: 'fresh', fallback: 'exact' });
  t.equal(fake.requests.filter((request) => request.path === '/sdapi/v1/txt2img').length, 2, 'asked twice');
  t.equal((await debitsAndRefunds(server, 'patient')).refundsByDebit.size, 0);
  client.close();
});

t.test('the OpenAI provider serves fresh frames through the whole server', async (t) => {
  const fake = await FakeImageApi.start(t);
  const server = await startTestServer(t, 'memory', { GEN_PROVIDER: 'openai', OPENAI_BASE_URL: fake.url, OPENAI_API_KEY: 'sk-test-key' });
  await createUser(server, 'painter');
  const client = await burstPlayer(server, 'painter');
  t.teardown(() => client.close());
  const { frame } = await nextFrame(client, 'o1');
  t.match(frame, { source: 'fresh', width: 1280, height: 720 });
  t.equal(fake.requests[0]?.headers['authorization'], 'Bearer sk-test-key');
  const metrics = await (await fetch(`${server.url}/metrics`)).text();
  t.match(metrics, /titrate_generation_cost_dollars_total\{model="dall-e-3"\} 0\.04/);
  t.match(metrics, /titrate_generations_total\{model="dall-e-3",outcome="ready"\} 1/);
  client.close();
});

/** A provider that ignores its abort signal and answers only when the test says so. */
class StubbornProvider implements ImageProvider {
  readonly name = 'local' as const;
  readonly #renderer = new LocalProvider();
  started: Promise<void>;
  #markStarted!: () => void;
  #release: (() => void) | null = null;

  constructor() {
    this.started = new Promise((resolve) => (this.#markStarted = resolve));
  }

  generate(request: ImageRequest): Promise<ProviderImage> {
    this.#markStarted();
    return new Promise((resolve, reject) => {
      this.#release = () => this.#renderer.generate(request, new AbortController().signal).then(resolve, reject);
    });
  }

  release(): void {
    this.#release?.();
  }
}

t.test('an image that arrives after its deadline is refunded once, kept for the pantry and never charged', async (t) => {
  const provider = new StubbornProvider();
  const server = await startTestServer(t, 'memory', { GEN_TIMEOUT_MS: '800' }, { provider });
  await createUser(server, 'late');
  const client = await burstPlayer(server, 'late');
  t.teardown(() => client.close());
  const afterBurst = await available(server, 'late');
  const { frame } = await nextFrame(client, 'slow');
  t.match(frame, { source: 'library', fallback: 'generation_failed' });
  provider.release();
  const pool = new pg.Pool({ connectionString: server.databaseUrl, max: 1 });
  t.teardown(() => pool.end());
  const kept = await until(async () => {
    const { rows } = await pool.query(`SELECT f.id FROM frames f JOIN generations g ON g.prompt = f.prompt WHERE f.source = 'library'`);
    return rows[0] as { id: string } | undefined;
  });
  t.ok(kept, 'the late image joined the pantry');
  const { rows } = await pool.query(`SELECT state, charge, frame_id FROM generations`);
  t.same(rows, [{ state: 'failed', charge: 'refunded', frame_id: null }], 'the generation stays failed: no second outcome');
  const { debits, refundsByDebit } = await debitsAndRefunds(server, 'late');
  t.equal(debits.length, 1);
  t.equal(refundsByDebit.get(debits[0]!.id), 1);
  t.equal(await available(server, 'late'), afterBurst);
  client.close();
});

t.test('a generation whose image cannot be stored fails at once and is refunded, instead of holding the debit until its deadline', async (t) => {
  const provider = new StubbornProvider();
  const dataDir = await testDirectory(t);
  // A deadline far beyond the wait below: only the crash path can settle this generation in time.
  const server = await startTestServer(t, 'memory', { GEN_TIMEOUT_MS: '120000' }, { provider, dataDir });
  await createUser(server, 'unstored');
  const client = await burstPlayer(server, 'unstored');
  t.teardown(() => client.close());
  const afterBurst = await available(server, 'unstored');
  client.send({ t: 'next', id: 'lost' });
  await provider.started;
  // The frame store's directory is gone and a file is in its place: storing the image throws.
  const frames = path.join(dataDir, 'frames');
  await rename(frames, `${frames}.aside`);
  await writeFile(frames, 'not a directory');
  t.teardown(async () => {
    await rm(frames, { force: true });
    await rename(`${frames}.aside`, frames).catch(() => undefined);
  });
  provider.release();
  const frame = await client.take((message) => message.t === 'frame' && message['req'] === 'lost', 20_000);
  t.match(frame, { source: 'library', fallback: 'generation_failed', charged: 0 }, 'a library frame stands in');
  const pool = new pg.Pool({ connectionString: server.databaseUrl, max: 1 });
  t.teardown(() => pool.end());
  const { rows } = await pool.query(`SELECT state, charge, error FROM generations`);
  t.match(rows, [{ state: 'failed', charge: 'refunded', error: 'internal' }], 'failed as internal, not by its deadline');
  const { debits, refundsByDebit } = await debitsAndRefunds(server, 'unstored');
  t.equal(debits.length, 1);
  t.equal(refundsByDebit.get(debits[0]!.id), 1, 'refunded once');
  t.equal(await available(server, 'unstored'), afterBurst, 'the balance is whole again');
});
