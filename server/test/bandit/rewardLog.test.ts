import path from 'node:path';
import { pino } from 'pino';
import t from 'tap';
import { RewardLog, type RewardEntry } from '../../src/bandit/statistics.js';
import { createPool } from '../../src/db/pool.js';
import { migrate } from '../../src/db/migrator.js';
import { repositoryRoot } from '../../src/main.js';
import { createMetrics } from '../../src/metrics/metrics.js';
import { testDatabaseUrl } from '../support/services.js';

const log = pino({ level: 'silent' });

t.test('a reward is written with each of its values in its own column', async (t) => {
  const pool = createPool(await testDatabaseUrl(t), log);
  await migrate(pool, path.join(repositoryRoot, 'migrations'), log);
  const metrics = createMetrics();
  const rewards = new RewardLog({ pool, log, metrics });
  t.teardown(async () => {
    await rewards.stop();
    await pool.end();
  });
  const decidedAt = Date.UTC(2026, 10, 20, 12, 0, 0, 250);
  // Each column's values differ from every other column's, the booleans' included (true/false,
  // false/true, true/true), so a value written into another's column shows.
  const entries: RewardEntry[] = [
    { decisionId: 'decision-a', decidedAt, rewardedAt: decidedAt + 12_500, userId: 'ann', segment: 'basic|house|calm', source: 'fresh', reward: 1, dwellMs: 12_000, liked: true, skipped: false, offline: true },
    { decisionId: 'decision-b', decidedAt: decidedAt + 1, rewardedAt: decidedAt + 3_000, userId: 'bob', segment: 'pro|techno|dark', source: 'library', reward: 0, dwellMs: 2_000, liked: false, skipped: true, offline: true },
  ];
  for (const entry of entries) rewards.record(entry);
  await rewards.flush();
  const { rows } = await pool.query(
    `SELECT decision_id, (extract(epoch FROM decided_at) * 1000)::float8 AS decided_at, (extract(epoch FROM rewarded_at) * 1000)::float8 AS rewarded_at,
       user_id, segment, source, reward, dwell_ms, liked, skipped, offline FROM decision_rewards ORDER BY decision_id`,
  );
  t.same(
    rows,
    entries.map((entry) => ({
      decision_id: entry.decisionId, decided_at: entry.decidedAt, rewarded_at: entry.rewardedAt, user_id: entry.userId, segment: entry.segment,
      source: entry.source, reward: entry.reward, dwell_ms: entry.dwellMs, liked: entry.liked, skipped: entry.skipped, offline: entry.offline,
    })),
  );
});
