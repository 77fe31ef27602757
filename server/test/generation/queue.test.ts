import path from 'node:path';
import PgBoss from 'pg-boss';
import { pino } from 'pino';
import t, { type Test } from 'tap';
import { createPool } from '../../src/db/pool.js';
import { migrate } from '../../src/db/migrator.js';
import { GenerationQueue, queueNames } from '../../src/generation/queue.js';
import { GenerationStore, type NewGeneration } from '../../src/generation/store.js';
import { Ledger } from '../../src/ledger/ledger.js';
import { repositoryRoot } from '../../src/main.js';
import { UserDirectory } from '../../src/users/directory.js';
import { testDatabaseUrl } from '../support/services.js';

const windows = { inboxHoldMs: 60_000, displayWindowMs: 60_000, beaconWindowMs: 60_000, displayMinMs: 5_000, handoffMs: 1_000 };

async function fixture(t: Test) {
  const log = pino({ level: 'silent' });
  const databaseUrl = await testDatabaseUrl(t);
  const pool = createPool(databaseUrl, log);
  t.teardown(() => pool.end());
  await migrate(pool, path.join(repositoryRoot, 'migrations'), log);
  const users = new UserDirectory(pool);
  await users.seed();
  const ledger = new Ledger(pool, log);
  await ledger.openAccount('demo');
  const boss = new PgBoss({ connectionString: databaseUrl, schema: 'pgboss', max: 2 });
  await boss.start();
  t.teardown(() => boss.stop({ graceful: false, wait: true }));
  const queue = await GenerationQueue.open(boss, 60);
  const store = new GenerationStore(pool, windows);
  return { pool, ledger, boss, queue, store };
}

const generation = (id: string): NewGeneration => ({
  id, userId: 'demo', sessionId: 'session-1', requestId: 'next-1', purpose: 'interactive', queue: 'interactive', charge: 'held',
  provider: 'local', model: 'local-sketch', credits: 1, usd: 0, ledgerId: null, prompt: 'a prompt', promptKey: 'key', promptHash: 'hash',
  variant: 0, genre: 'techno', mood: 'dark', style: 'grid', energy: 0.5, orientation: 'landscape', width: 1280, height: 720, p: 1,
  reasons: [], deadlineMs: 30_000,
});

async function counts(pool: import('pg').Pool) {
  const { rows } = await pool.query<{ debits: number; requests: number; generations: number; jobs: number }>(
    `SELECT (SELECT count(*) FROM credit_ledger WHERE type = 'generation')::int AS debits,
            (SELECT count(*) FROM credit_requests)::int AS requests,
            (SELECT count(*) FROM generations)::int AS generations,
            (SELECT count(*) FROM pgboss.job WHERE name = $1)::int AS jobs`,
    [queueNames.interactive],
  );
  return rows[0]!;
}

t.test('a debit and its generation job commit together', async (t) => {
  const { pool, ledger, queue, store } = await fixture(t);
  const result = await ledger.debit({ userId: 'demo', kind: 'generation', requestId: 'ok', amount: 1 }, async (client, debit) => {
    await store.insert(client, { ...generation('generation-ok'), ledgerId: debit.ledgerId });
    await queue.send(client, 'interactive', 'generation-ok');
  });
  t.equal(result.status, 'debited');
  t.same(await counts(pool), { debits: 1, requests: 1, generations: 1, jobs: 1 });
  const job = await queue.fetchNext();
  t.match(job, { queue: 'interactive', generationId: 'generation-ok' });
});

t.test('a transaction rolled back after sending the job leaves neither the debit nor the job', async (t) => {
  const { pool, ledger, queue, store } = await fixture(t);
  const before = (await ledger.view('demo'))!.available;
  await t.rejects(
    ledger.debit({ userId: 'demo', kind: 'generation', requestId: 'doomed', amount: 1 }, async (client, debit) => {
      await store.insert(client, { ...generation('generation-doomed'), ledgerId: debit.ledgerId });
      await queue.send(client, 'interactive', 'generation-doomed');
      throw new Error('something failed after the job was sent');
    }),
    /something failed/,
  );
  t.same(await counts(pool), { debits: 0, requests: 0, generations: 0, jobs: 0 });
  t.equal((await ledger.view('demo'))!.available, before);
  t.equal(await queue.fetchNext(), null, 'no worker can ever see the job');
});

t.test('workers take interactive work before background work', async (t) => {
  const { ledger, queue, store } = await fixture(t);
  for (const [id, lane] of [['background-1', 'background'], ['interactive-1', 'interactive']] as const) {
    await ledger.debit({ userId: 'demo', kind: 'generation', requestId: id, amount: 1 }, async (client, debit) => {
      await store.insert(client, { ...generation(id), queue: lane, purpose: lane === 'background' ? 'congested' : 'interactive', ledgerId: debit.ledgerId });
      await queue.send(client, lane, id);
    });
  }
  t.equal((await queue.fetchNext())?.generationId, 'interactive-1');
  t.equal((await queue.fetchNext())?.generationId, 'background-1');
  t.equal(await queue.fetchNext(), null);
});

t.test('only the claiming attempt can finish a generation, and a failed one cannot become ready', async (t) => {
  const { ledger, queue, store, pool } = await fixture(t);
  await ledger.debit({ userId: 'demo', kind: 'generation', requestId: 'race', amount: 1 }, async (client, debit) => {
    await store.insert(client, { ...generation('race-generation'), ledgerId: debit.ledgerId });
    await queue.send(client, 'interactive', 'race-generation');
  });
  const claimed = await store.claim('race-generation');
  t.equal(claimed?.attempt, 1);
  t.equal(await store.claim('race-generation'), null, 'a second claim of a running generation fails');
  t.ok(await store.fail(null, 'race-generation', 'deadline', null));
  t.notOk(await store.fail(null, 'race-generation', 'deadline', null), 'failing twice changes nothing');
  await pool.query(`INSERT INTO frames (id, source, genre, mood, style, orientation, width, height, content_type, bytes, sha256, path)
    VALUES ('frame-late-1', 'fresh', 'techno', 'dark', 'grid', 'landscape', 1, 1, 'image/webp', 1, repeat('a', 64), 'x')`);
  t.equal(await store.complete('race-generation', 1, 'frame-late-1', 0), null, 'a late image cannot complete a failed generation');
  t.equal((await store.get('race-generation'))?.state, 'failed');
});

t.test("a prompt's cached images and its next variant are read together: past every cached image and every generation not failed", async (t) => {
  const { pool, store } = await fixture(t);
  t.same(await store.promptVariants('key'), { cached: [], next: 0 }, 'a new prompt starts at variant 0');
  for (const variant of [0, 1]) {
    const frameId = `cached-frame-${variant}`;
    await pool.query(
      `INSERT INTO frames (id, source, genre, mood, style, orientation, width, height, content_type, bytes, sha256, path)
       VALUES ($1, 'fresh', 'techno', 'dark', 'grid', 'landscape', 1280, 720, 'image/webp', 1, repeat('0', 64), $1)`,
      [frameId],
    );
    await store.putCache({ promptHash: `hash-${variant}`, promptKey: 'key', variant, frameId, model: 'local-sketch' });
  }
  await store.insert(pool, { ...generation('generation-queued'), charge: 'none', promptHash: 'hash-3', variant: 3 });
  await store.insert(pool, { ...generation('generation-failed'), charge: 'none', promptHash: 'hash-7', variant: 7 });
  await pool.query(`UPDATE generations SET state = 'failed' WHERE id = 'generation-failed'`);
  t.same(await store.promptVariants('key'), {
    cached: [{ variant: 0, frameId: 'cached-frame-0', promptHash: 'hash-0' }, { variant: 1, frameId: 'cached-frame-1', promptHash: 'hash-1' }],
    next: 4,
  });
  t.equal(await store.nextVariant('key'), 4, 'the same as the next variant read alone');
  t.same(await store.promptVariants('another key'), { cached: [], next: 0 });
});
