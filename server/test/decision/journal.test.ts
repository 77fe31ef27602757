import path from 'node:path';
import { pino } from 'pino';
import t, { type Test } from 'tap';
import { freePort } from '../../src/db/embedded.js';
import { createPool } from '../../src/db/pool.js';
import { migrate } from '../../src/db/migrator.js';
import { DecisionJournal, type JournalBounds, type JournalEntry } from '../../src/decision/journal.js';
import { limits } from '../../src/limits.js';
import { repositoryRoot } from '../../src/main.js';
import { createMetrics } from '../../src/metrics/metrics.js';
import { testDatabaseUrl } from '../support/services.js';

const log = pino({ level: 'silent' });
const dayMs = 86_400_000;
// The timer is an hour away unless a test wants it, so that the test alone decides when writes happen.
const testBounds: JournalBounds = {
  batchMax: limits.decisionJournalBatchMax,
  bufferMax: limits.decisionJournalBufferMax,
  flushIntervalMs: 3_600_000,
};

let sequence = 0;
function entry(overrides: Partial<JournalEntry> = {}): JournalEntry {
  sequence += 1;
  return {
    ts: Date.now(), id: `decision-${sequence}`, userId: 'ann', sessionId: 'session-1', requestId: `request-${sequence}`, policy: 'controller',
    tier: 'basic', p: 0.25, source: 'library', fallback: 'exact', charged: 0, context: { genre: 'house', mood: 'warm', energy: 0.6 },
    orientation: 'landscape', factors: { budget: -0.2, novelty: 0.1 }, reasons: ['within budget'],
    forecast: { freshPerDayLow: 10, freshPerDayHigh: 14, runOutRisk: 'low' }, segment: 'basic|house|warm', eligible: true,
    bandit: { mode: 'on', algorithm: 'epsilon-greedy', arm: 'fresh', multiplier: 1.15, drawn: 1.15, explored: false }, ...overrides,
  };
}

/** A journal on its own migrated database (or on `pool`, when given one). */
async function journalFixture(t: Test, bounds: Partial<JournalBounds> = {}, pool?: ReturnType<typeof createPool>) {
  const database = pool ?? createPool(await testDatabaseUrl(t), log);
  if (pool === undefined) await migrate(database, path.join(repositoryRoot, 'migrations'), log);
  const metrics = createMetrics();
  const journal = new DecisionJournal({ pool: database, log, metrics }, { ...testBounds, ...bounds });
  t.teardown(async () => {
    await journal.stop();
    await database.end();
  });
  return {
    pool: database,
    journal,
    async counts() {
      const counts: Record<string, number> = { written: 0, dropped: 0, failed: 0, invalid: 0 };
      for (const { labels, value } of (await metrics.decisionJournal.get()).values) counts[String(labels['result'])] = value;
      return counts;
    },
    async buffered() {
      return (await metrics.decisionJournalBuffered.get()).values[0]?.value ?? 0;
    },
    /** Every insert fails while the table is hidden, as in an outage, but the pool stays healthy. */
    async hideTable(hidden: boolean) {
      await database.query(hidden ? 'ALTER TABLE decisions RENAME TO decisions_away' : 'ALTER TABLE decisions_away RENAME TO decisions');
    },
    async rows() {
      const { rows } = await database.query<{ id: string; partition: string }>(
        `SELECT id, tableoid::regclass::text AS partition FROM decisions ORDER BY ts, id`,
      );
      return rows;
    },
  };
}

function partitionOf(ms: number): string {
  return `decisions_d${new Date(ms).toISOString().slice(0, 10).replaceAll('-', '')}`;
}

async function eventually(check: () => Promise<boolean>): Promise<boolean> {
  for (let attempt = 0; attempt < 200; attempt += 1) {
    if (await check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return false;
}

t.test('writes recorded decisions in one batch on flush', async (t) => {
  const f = await journalFixture(t);
  const context = { genre: 'techno', mood: 'dark', energy: 0.9 };
  const fresh = entry({ source: 'fresh', p: 1, charged: 2, fallback: 'exact', forecast: null, context });
  f.journal.record(entry());
  f.journal.record(fresh);
  f.journal.record(entry({ context: { genre: null, mood: null, energy: null }, factors: {}, reasons: [] }));
  t.equal(await f.buffered(), 3);
  t.same(await f.rows(), [], 'nothing is written before the batch fills or the timer fires');
  await f.journal.flush();
  t.equal(await f.buffered(), 0);
  t.match(await f.counts(), { written: 3, dropped: 0, failed: 0 });
  const batches = await f.pool.query<{ transactions: number }>(`SELECT count(DISTINCT xmin::text)::int AS transactions FROM decisions`);
  t.equal(batches.rows[0]!.transactions, 1, 'one statement wrote all three');
  const { rows } = await f.pool.query(
    `SELECT (extract(epoch FROM ts) * 1000)::float8 AS ts, user_id, session_id, request_id, policy, tier, p, source, fallback, charged,
       genre, mood, energy, orientation, factors, reasons, forecast, propensity, segment, eligible, bandit FROM decisions WHERE id = $1`,
    [fresh.id],
  );
  t.same(rows[0], {
    ts: fresh.ts, user_id: 'ann', session_id: 'session-1', request_id: fresh.requestId, policy: 'controller', tier: 'basic', p: 1, source: 'fresh',
    fallback: 'exact', charged: 2, genre: 'techno', mood: 'dark', energy: 0.9, orientation: 'landscape', factors: { budget: -0.2, novelty: 0.1 },
    reasons: ['within budget'], forecast: null, propensity: 1, segment: 'basic|house|warm', eligible: true,
    bandit: { mode: 'on', algorithm: 'epsilon-greedy', arm: 'fresh', multiplier: 1.15, drawn: 1.15, explored: false },
  });
  const library = await f.pool.query(`SELECT DISTINCT p, propensity FROM decisions WHERE source = 'library'`);
  t.same(library.rows, [{ p: 0.25, propensity: 0.75 }], 'a library decision is shown with the propensity 1 − p');
  const nulls = await f.pool.query<{ forecasts: number; genres: number }>(
    `SELECT count(*) FILTER (WHERE forecast IS NULL)::int AS forecasts, count(*) FILTER (WHERE genre IS NULL AND energy IS NULL)::int AS genres FROM decisions`,
  );
  t.same(nulls.rows[0], { forecasts: 1, genres: 1 }, 'a missing value is SQL NULL, not a JSON null');
});

t.test('rows reach the table as they were recorded: text beyond ASCII, rows of 40,000 characters, batch after batch', async (t) => {
  const f = await journalFixture(t);
  const reasons = ['early in the session: ×1.45', 'Ünïcödé — 🎧', 'x'.repeat(40_000)];
  const entries = Array.from({ length: 250 }, (_, index) => entry({ reasons: index % 50 === 0 ? reasons : [`reason ${index}`] }));
  for (const decision of entries) f.journal.record(decision);
  await f.journal.flush();
  t.match(await f.counts(), { written: 250, failed: 0 });
  const batches = await f.pool.query<{ transactions: number }>(`SELECT count(DISTINCT xmin::text)::int AS transactions FROM decisions`);
  t.equal(batches.rows[0]!.transactions, 3, 'batches of 100, 100 and 50');
  const { rows } = await f.pool.query<{ id: string; reasons: string[] }>(`SELECT id, reasons FROM decisions`);
  const read = new Map(rows.map((row) => [row.id, row.reasons]));
  t.same(entries.map((decision) => read.get(decision.id)), entries.map((decision) => decision.reasons));
});

t.test('a full batch is written at once, without waiting for the timer', async (t) => {
  const f = await journalFixture(t, { batchMax: 3 });
  for (let index = 0; index < 3; index += 1) f.journal.record(entry());
  t.ok(await eventually(async () => (await f.rows()).length === 3));
});

t.test('the timer writes what is buffered', async (t) => {
  const f = await journalFixture(t, { flushIntervalMs: 20 });
  f.journal.record(entry());
  t.ok(await eventually(async () => (await f.rows()).length === 1));
});

t.test('record never blocks or throws when the database is down', async (t) => {
  const down = createPool(`postgres://titrate:nothing@127.0.0.1:${await freePort()}/titrate`, log);
  const f = await journalFixture(t, { batchMax: 2 }, down);
  for (let index = 0; index < 5; index += 1) t.equal(f.journal.record(entry()), undefined);
  await f.journal.flush();
  t.match(await f.counts(), { written: 0, failed: 4, dropped: 2 }, 'the full batch failed, then its one retry: it is dropped');
  t.equal(await f.buffered(), 3, 'the rest waits for the next write');
});

t.test('a write that fails leaves full batches to the timer until one succeeds', async (t) => {
  const down = createPool(`postgres://titrate:nothing@127.0.0.1:${await freePort()}/titrate`, log);
  const f = await journalFixture(t, { batchMax: 2 }, down);
  f.journal.record(entry());
  await f.journal.flush();
  t.match(await f.counts(), { failed: 1 });
  for (let index = 0; index < 10; index += 1) f.journal.record(entry());
  await new Promise((resolve) => setTimeout(resolve, 50));
  t.match(await f.counts(), { failed: 1 }, 'no write was started by the full buffer');
  t.equal(await f.buffered(), 11);
});

t.test('drops and counts entries beyond the buffer limit', async (t) => {
  const f = await journalFixture(t, { batchMax: 2, bufferMax: 5 });
  // All at once: the first full batch is being written, five wait, the rest find the buffer full.
  for (let index = 0; index < 20; index += 1) f.journal.record(entry());
  t.match(await f.counts(), { dropped: 13 });
  t.equal(await f.buffered(), 5);
  await f.journal.flush();
  t.match(await f.counts(), { written: 7, dropped: 13, failed: 0 });
  t.equal((await f.rows()).length, 7);
});

t.test('a batch that fails is retried once and written when the database is back', async (t) => {
  const f = await journalFixture(t);
  await f.hideTable(true);
  f.journal.record(entry());
  f.journal.record(entry());
  await f.journal.flush();
  t.match(await f.counts(), { written: 0, failed: 2 });
  t.equal(await f.buffered(), 2, 'the batch waits for its retry');
  await f.hideTable(false);
  f.journal.record(entry());
  await f.journal.flush();
  t.match(await f.counts(), { written: 3, failed: 2, dropped: 0 });
  t.equal((await f.rows()).length, 3);
});

t.test('a batch that fails twice is dropped and counted', async (t) => {
  const f = await journalFixture(t);
  await f.hideTable(true);
  for (const decision of [entry(), entry()]) f.journal.record(decision);
  await f.journal.flush();
  await f.journal.flush();
  t.match(await f.counts(), { written: 0, failed: 4, dropped: 2 });
  t.equal(await f.buffered(), 0);
  await f.hideTable(false);
  await f.journal.flush();
  t.same(await f.rows(), []);
});

t.test('an invalid entry is refused at record and does not sink its batch', async (t) => {
  const f = await journalFixture(t);
  f.journal.record(entry({ p: 1.5 }));
  f.journal.record(entry({ charged: -1 }));
  f.journal.record(entry({ ts: Number.NaN }));
  f.journal.record(entry());
  await f.journal.flush();
  t.match(await f.counts(), { invalid: 3, written: 1, failed: 0 });
});

t.test('an entry whose values are not JSON is left out of its batch, counted, and the rest are written', async (t) => {
  const f = await journalFixture(t);
  f.journal.record(entry());
  f.journal.record(entry({ factors: { budget: 10n as unknown as number } }));
  const circular: Record<string, unknown> = {};
  circular['self'] = circular;
  f.journal.record(entry({ bandit: circular as unknown as JournalEntry['bandit'] }));
  f.journal.record(entry());
  await f.journal.flush();
  t.match(await f.counts(), { invalid: 2, written: 2, failed: 0 });
  t.equal((await f.rows()).length, 2);
});

t.test('stop writes what is buffered, then drops and counts later decisions', async (t) => {
  const f = await journalFixture(t);
  f.journal.record(entry());
  f.journal.record(entry());
  await f.journal.stop();
  t.equal((await f.rows()).length, 2);
  f.journal.record(entry());
  t.match(await f.counts(), { written: 2, dropped: 1 });
});

t.test('creates day partitions ahead and rows land in their day\'s partition', async (t) => {
  const f = await journalFixture(t);
  const now = Date.now();
  const partitions = async () => {
    const { rows } = await f.pool.query<{ name: string }>(
      `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
       WHERE i.inhparent = 'decisions'::regclass ORDER BY c.relname::text COLLATE "C"`,
    );
    return rows.map((row) => row.name);
  };
  const ahead = [0, 1, 2, 3].map((day) => partitionOf(now + day * dayMs));
  t.same(await partitions(), [...ahead, 'decisions_default'], 'the migration makes today and three days ahead');
  t.equal(await f.journal.ensurePartitions(3), 0, 'again: nothing new');
  t.equal(await f.journal.ensurePartitions(5), 2);
  const today = entry({ ts: now });
  const tomorrow = entry({ ts: now + dayMs });
  const later = entry({ ts: now + 30 * dayMs });
  for (const decision of [today, tomorrow, later]) f.journal.record(decision);
  await f.journal.flush();
  t.same(await f.rows(), [
    { id: today.id, partition: partitionOf(now) },
    { id: tomorrow.id, partition: partitionOf(now + dayMs) },
    { id: later.id, partition: 'decisions_default' },
  ]);
  await t.rejects(f.journal.ensurePartitions(1000), { message: /days_ahead must be within 0..366/ });
});

t.test('a day whose rows sit in the default partition is skipped, and its rows stay there', async (t) => {
  const f = await journalFixture(t);
  const now = Date.now();
  const stray = entry({ ts: now + 10 * dayMs });
  f.journal.record(stray);
  await f.journal.flush();
  t.equal(await f.journal.ensurePartitions(12), 8, 'days 4 to 12 but the tenth');
  const { rows } = await f.pool.query(`SELECT to_regclass($1) AS day`, [partitionOf(stray.ts)]);
  t.equal(rows[0].day, null);
  t.same(await f.rows(), [{ id: stray.id, partition: 'decisions_default' }]);
});

t.test('drops partitions older than the retention, never recent days or the default', async (t) => {
  const f = await journalFixture(t);
  const now = Date.now();
  const dayStart = (ms: number) => new Date(Math.floor(ms / dayMs) * dayMs).toISOString();
  for (const age of [40, 36, 10]) {
    const start = now - age * dayMs;
    const bounds = `FROM ('${dayStart(start)}') TO ('${dayStart(start + dayMs)}')`;
    await f.pool.query(`CREATE TABLE ${partitionOf(start)} PARTITION OF decisions FOR VALUES ${bounds}`);
  }
  const old = entry({ ts: now - 40 * dayMs });
  const recent = entry({ ts: now - 10 * dayMs });
  const ancient = entry({ ts: Date.parse('2020-01-01T12:00:00Z') });
  for (const decision of [ancient, old, recent, entry({ ts: now })]) f.journal.record(decision);
  await f.journal.flush();
  t.equal(await f.journal.dropOldPartitions(35), 2);
  t.same(
    (await f.rows()).map((row) => row.partition),
    ['decisions_default', partitionOf(recent.ts), partitionOf(now)],
    'the 40- and 36-day-old partitions are gone with their rows; the default keeps its own',
  );
  t.equal(await f.journal.dropOldPartitions(35), 0);
  await t.rejects(f.journal.dropOldPartitions(0), { message: /keep_days must be at least 1/ });
});
