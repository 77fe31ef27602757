/**
 * The decision journal: every frame decision, with what the policy saw and why it chose, in the
 * day-partitioned `decisions` table (migrations 007 and 009), for offline evaluation and for
 * rebuilding the bandit's statistics. It is evidence, not money, so the show never waits for it:
 * writes are batched off the hot path and bounded (db/batched.ts); an outage costs decisions,
 * counted in titrate_decision_journal_total, never memory or latency; so may a crash of the
 * database, since the evidence pool it writes on commits asynchronously (db/pool.ts).
 */
import type pg from 'pg';
import type { Logger } from 'pino';
import type { FrameSource } from '@titrate/shared';
import { BatchedInserts, type BatchBounds, type Column, type RowOf } from '../db/batched.js';
import { limits } from '../limits.js';
import type { Metrics } from '../metrics/metrics.js';

/** The bandit's part in a decision (null when no bandit looked at it). */
export type BanditRecord = {
  /** The rollout mode for this user: on (acted), shadow (computed and logged only). */
  mode: 'on' | 'shadow';
  algorithm: string;
  /** The direction of `multiplier` (null: none, e.g. while the segment warms up). */
  arm: 'fresh' | 'library' | null;
  /** On: the multiplier applied to p (1 when a mode or constraint set p). Shadow: the one it would have applied. */
  multiplier: number;
  /** This frame's draw, and whether it was a random exploration (epsilon-greedy). */
  drawn: number;
  explored: boolean;
};

export type JournalEntry = {
  /** When the decision was made (epoch ms); it also picks the day partition. */
  ts: number;
  id: string;
  userId: string;
  sessionId: string;
  requestId: string;
  /** The policy that set p. */
  policy: string;
  tier: string;
  /** The probability of fresh in force (0..1), after clamps, hysteresis, caps and the bandit. */
  p: number;
  source: FrameSource;
  fallback: string;
  charged: number;
  context: { genre: string | null; mood: string | null; energy: number | null };
  orientation: string;
  /** Each factor's contribution to p. */
  factors: Record<string, number>;
  reasons: string[];
  forecast: { freshPerDayLow: number; freshPerDayHigh: number; runOutRisk: string } | null;
  /** tier|genre|mood with genre and mood mapped to their library group. */
  segment: string | null;
  /** p was the policy's to set (titrated, no mode or constraint): a candidate policy could change it. */
  eligible: boolean | null;
  bandit: BanditRecord | null;
};

/** The probability of the arm that was shown, given the probability of fresh. */
export const propensityOf = (entry: Pick<JournalEntry, 'p' | 'source'>): number => (entry.source === 'fresh' ? entry.p : 1 - entry.p);

export type JournalMetrics = Pick<Metrics, 'decisionJournal' | 'decisionJournalBuffered'>;
export type JournalBounds = BatchBounds;

const defaultBounds: BatchBounds = {
  batchMax: limits.decisionJournalBatchMax,
  bufferMax: limits.decisionJournalBufferMax,
  flushIntervalMs: limits.decisionJournalFlushIntervalMs,
};

const columns = [
  ['ts', 'timestamptz'], ['id', 'text'], ['user_id', 'text'], ['session_id', 'text'], ['request_id', 'text'], ['policy', 'text'],
  ['tier', 'text'], ['p', 'float8'], ['source', 'text'], ['fallback', 'text'], ['charged', 'int'], ['genre', 'text'], ['mood', 'text'],
  ['energy', 'float8'], ['orientation', 'text'], ['factors', 'jsonb'], ['reasons', 'jsonb'], ['forecast', 'jsonb'], ['propensity', 'float8'],
  ['segment', 'text'], ['eligible', 'bool'], ['bandit', 'jsonb'],
] as const satisfies ReadonlyArray<Column>;

/** A decision's row, in the order of `columns`. */
const rowOf = (entry: JournalEntry): RowOf<typeof columns> => [
  entry.ts, entry.id, entry.userId, entry.sessionId, entry.requestId, entry.policy,
  entry.tier, entry.p, entry.source, entry.fallback, entry.charged, entry.context.genre, entry.context.mood,
  entry.context.energy, entry.orientation, entry.factors, entry.reasons, entry.forecast, propensityOf(entry),
  entry.segment, entry.eligible, entry.bandit,
];

/** Why the entry cannot be written, or null. One row the table refuses would sink its whole batch, so it is stopped at the door. */
export function entryProblem(entry: JournalEntry): string | null {
  if (Number.isNaN(new Date(entry.ts).getTime())) return `ts ${entry.ts} is not a time`;
  if (!(entry.p >= 0 && entry.p <= 1)) return `p ${entry.p} is outside 0..1`;
  if (!Number.isInteger(entry.charged) || entry.charged < 0) return `charged ${entry.charged} is not a count of credits`;
  return null;
}

export class DecisionJournal extends BatchedInserts<JournalEntry, typeof columns> {
  constructor(services: { pool: pg.Pool; log: Logger; metrics: JournalMetrics }, bounds: JournalBounds = defaultBounds) {
    super(
      services,
      { table: 'decisions', noun: 'decision', columns, row: rowOf, problem: entryProblem, counter: services.metrics.decisionJournal, buffered: services.metrics.decisionJournalBuffered },
      bounds,
    );
  }

  /** Creates the day partitions from today to `daysAhead` days ahead; returns how many were new. */
  async ensurePartitions(daysAhead: number): Promise<number> {
    const { rows } = await this.pool.query<{ created: number }>(`SELECT ensure_decision_partitions($1::int) AS created`, [daysAhead]);
    return rows[0]!.created;
  }

  /** Drops the day partitions wholly older than `keepDays` days (never the default); returns how many. */
  async dropOldPartitions(keepDays: number): Promise<number> {
    const { rows } = await this.pool.query<{ dropped: number }>(`SELECT drop_decision_partitions($1::int) AS dropped`, [keepDays]);
    return rows[0]!.dropped;
  }
}
