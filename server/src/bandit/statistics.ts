/**
 * The bandit's live side: per-segment statistics kept in the session-state engine (shared by every
 * node), a per-process copy refreshed every few seconds so that a decision never waits for it,
 * the rollout switches, the reward log, and the rebuild of the statistics from the decision log.
 *
 * A pull is counted when a frame's beacon is counted (its reward joined to its decision), so each
 * arm's estimate is rewards / pulls over frames whose outcome is known. Segment keys are bounded
 * (`segmentsMax`): genre and mood are the library group the context maps to, tiers are the
 * operator's; past the bound a new segment is not counted (and logged once).
 */
import type pg from 'pg';
import type { Logger } from 'pino';
import { BatchedInserts, type Column, type RowOf } from '../db/batched.js';
import { limits } from '../limits.js';
import type { Metrics } from '../metrics/metrics.js';
import type { SessionStateEngine } from '../state/engine.js';
import { arms, emptySegment, estimateOf, isWarm, liftOf, nudgeOf, referenceLift, type Arm, type BanditSettings, type Nudge, type SegmentStats } from './policy.js';
import { rolloutModeOf, type Rollout } from './rollout.js';

/** One counted beacon, joined to its decision by id (`decision_rewards`, migration 009). */
export type RewardEntry = {
  decisionId: string;
  decidedAt: number;
  rewardedAt: number;
  userId: string;
  segment: string;
  source: Arm;
  reward: 0 | 1;
  dwellMs: number;
  liked: boolean;
  skipped: boolean;
  offline: boolean;
};

const rewardColumns = [
  ['decision_id', 'text'], ['decided_at', 'timestamptz'], ['rewarded_at', 'timestamptz'], ['user_id', 'text'], ['segment', 'text'],
  ['source', 'text'], ['reward', 'int2'], ['dwell_ms', 'int'], ['liked', 'bool'], ['skipped', 'bool'], ['offline', 'bool'],
] as const satisfies ReadonlyArray<Column>;

/** A reward's row, in the order of `rewardColumns`. */
const rewardRowOf = (entry: RewardEntry): RowOf<typeof rewardColumns> => [
  entry.decisionId, entry.decidedAt, entry.rewardedAt, entry.userId, entry.segment,
  entry.source, entry.reward, entry.dwellMs, entry.liked, entry.skipped, entry.offline,
];

/** The reward log: batched like the decision journal, never on the hot path. */
export class RewardLog extends BatchedInserts<RewardEntry, typeof rewardColumns> {
  constructor(services: { pool: pg.Pool; log: Logger; metrics: Pick<Metrics, 'rewardLog' | 'rewardLogBuffered'> }) {
    super(
      services,
      {
        table: 'decision_rewards', noun: 'reward', columns: rewardColumns, row: rewardRowOf, counter: services.metrics.rewardLog, buffered: services.metrics.rewardLogBuffered,
        problem: (entry) => (Number.isNaN(new Date(entry.decidedAt).getTime()) ? `decidedAt ${entry.decidedAt} is not a time` : null),
      },
      { batchMax: limits.decisionJournalBatchMax, bufferMax: limits.decisionJournalBufferMax, flushIntervalMs: limits.decisionJournalFlushIntervalMs },
    );
  }

  /** Deletes rewards of decisions older than `keepDays` (the journal's own retention); returns how many. */
  async prune(keepDays: number): Promise<number> {
    const result = await this.pool.query(`DELETE FROM decision_rewards WHERE decided_at < now() - make_interval(days => $1::int)`, [keepDays]);
    return result.rowCount ?? 0;
  }
}

/** What the bandit says for one decision: the mode it runs in for this user and its nudge. */
export type Lean = { mode: 'on' | 'shadow'; nudge: Nudge };

export type SegmentReport = {
  segment: string;
  tier: string;
  genre: string;
  mood: string;
  warm: boolean;
  lift: number;
  leaning: Arm | null;
  arms: Record<Arm, { pulls: number; rewards: number; estimate: number }>;
};

export class BanditStatistics {
  readonly #engine: SessionStateEngine;
  readonly #settings: BanditSettings;
  readonly #rollout: Rollout;
  readonly #log: Logger;
  readonly #metrics: Metrics;
  #segments = new Map<string, SegmentStats>();
  #reference = 0;
  #timer: NodeJS.Timeout | null = null;
  #refreshing: Promise<void> | null = null;
  #warnedFull = false;

  constructor(services: { engine: SessionStateEngine; settings: BanditSettings; rollout: Rollout; log: Logger; metrics: Metrics }) {
    this.#engine = services.engine;
    this.#settings = services.settings;
    this.#rollout = services.rollout;
    this.#log = services.log;
    this.#metrics = services.metrics;
  }

  get settings(): BanditSettings {
    return this.#settings;
  }

  get rollout(): Rollout {
    return this.#rollout;
  }

  /** Loads the statistics and refreshes them every `limits.banditRefreshMs`. */
  async start(): Promise<void> {
    await this.refresh();
    this.#timer = setInterval(() => {
      this.refresh().catch((error: unknown) => this.#log.warn({ err: error }, 'bandit statistics not refreshed'));
    }, limits.banditRefreshMs);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
  }

  /** Reads every segment from the engine (one read in flight at a time). */
  refresh(): Promise<void> {
    this.#refreshing ??= this.#engine
      .getSegments()
      .then((segments) => {
        this.#segments = segments;
        this.#reference = referenceLift(segments.values(), this.#settings);
        this.#metrics.banditSegments.set(segments.size);
      })
      .finally(() => {
        this.#refreshing = null;
      });
    return this.#refreshing;
  }

  /** The bandit's word on a decision, from this process's copy (no I/O); null when it is off for the user. */
  lean(userId: string, tier: string, segment: string, random: () => number): Lean | null {
    const mode = rolloutModeOf(userId, tier, this.#rollout);
    if (mode === 'off') return null;
    const nudge = nudgeOf(this.#segments.get(segment) ?? emptySegment(), this.#reference, this.#settings, random);
    this.#metrics.banditLeans.inc({ mode, arm: nudge.arm ?? 'none' });
    return { mode, nudge };
  }

  /** Counts a pull and its reward, in the engine and in this process's copy. */
  async observe(segment: string, arm: Arm, reward: 0 | 1): Promise<void> {
    const counted = await this.#engine.addArmOutcome(segment, arm, 1, reward, limits.banditSegmentsMax);
    if (!counted) {
      if (!this.#warnedFull) this.#log.warn({ segment, segmentsMax: limits.banditSegmentsMax }, 'bandit segments are full; new segments are not counted');
      this.#warnedFull = true;
      return;
    }
    const stats = this.#segments.get(segment) ?? emptySegment();
    stats[arm].pulls += 1;
    stats[arm].rewards += reward;
    this.#segments.set(segment, stats);
  }

  /**
   * Recomputes every segment from the decision log — counted, non-offline rewards joined to their
   * journaled decisions of the last `sinceDays` days — and replaces the live statistics with it.
   * Pulls another node counts between the read and the replacement miss the live counters until
   * the next rebuild (they are in the log); the caller flushes this process's buffers first.
   */
  async rebuild(pool: pg.Pool, sinceDays: number): Promise<{ segments: number; pulls: number; rewards: number }> {
    const { rows } = await pool.query<{ segment: string; source: Arm; pulls: number; rewards: number }>(
      `SELECT r.segment, r.source, count(*)::int AS pulls, sum(r.reward)::int AS rewards
         FROM decision_rewards r JOIN decisions d ON d.id = r.decision_id AND d.ts = r.decided_at
        WHERE r.decided_at >= now() - make_interval(days => $1::int) AND NOT r.offline AND d.segment IS NOT NULL
        GROUP BY r.segment, r.source
        ORDER BY count(*) DESC
        LIMIT $2`,
      [sinceDays, limits.banditSegmentsMax * arms.length],
    );
    const segments = new Map<string, SegmentStats>();
    let pulls = 0;
    let rewards = 0;
    for (const row of rows) {
      if (!segments.has(row.segment) && segments.size >= limits.banditSegmentsMax) continue;
      const stats = segments.get(row.segment) ?? emptySegment();
      stats[row.source] = { pulls: row.pulls, rewards: row.rewards };
      segments.set(row.segment, stats);
      pulls += row.pulls;
      rewards += row.rewards;
    }
    await this.#engine.replaceSegments(segments);
    await this.refresh();
    this.#log.info({ segments: segments.size, pulls, rewards, sinceDays }, 'bandit statistics rebuilt from the decision log');
    return { segments: segments.size, pulls, rewards };
  }

  /** Every segment, read from the engine now, with estimates: the admin view. */
  async report(): Promise<{ reference: number; segments: SegmentReport[] }> {
    await this.refresh();
    const reference = this.#reference;
    const segments = [...this.#segments].map(([segment, stats]): SegmentReport => {
      const [tier = '', genre = '', mood = ''] = segment.split('|');
      const warm = isWarm(stats, this.#settings);
      const lift = liftOf(stats, this.#settings);
      const arm = (name: Arm) => ({ pulls: stats[name].pulls, rewards: stats[name].rewards, estimate: round(estimateOf(stats[name], this.#settings)) });
      return { segment, tier, genre, mood, warm, lift: round(lift), leaning: warm ? (lift >= reference ? 'fresh' : 'library') : null, arms: { fresh: arm('fresh'), library: arm('library') } };
    });
    segments.sort((left, right) => right.arms.fresh.pulls + right.arms.library.pulls - (left.arms.fresh.pulls + left.arms.library.pulls) || left.segment.localeCompare(right.segment));
    return { reference: round(reference), segments };
  }
}

const round = (value: number) => Math.round(value * 10_000) / 10_000;
