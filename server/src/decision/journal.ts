/**
 * The decision journal: every frame decision, with what the policy saw and why it chose, in the
 * day-partitioned `decisions` table (migration 007), for offline evaluation and a future bandit.
 *
 * The journal is evidence, not money, so the show never waits for it: `record` only appends to a
 * buffer in memory. A full batch starts a write at once, a timer writes what is left, and one
 * write is in flight at a time; a batch is one `INSERT … SELECT * FROM unnest(…)`. Everything is
 * bounded: beyond the buffer limit new decisions are dropped, and a batch the database refuses is
 * retried once, at the next write, then dropped. An outage costs decisions (counted in
 * titrate_decision_journal_total), never memory or latency.
 */
import type pg from 'pg';
import type { Logger } from 'pino';
import type { FrameSource } from '@titrate/shared';
import { limits } from '../limits.js';
import type { Metrics } from '../metrics/metrics.js';

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
  /** The probability of fresh the policy gave (0..1): the propensity evaluation weighs by. */
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
};

export type JournalBounds = { batchMax: number; bufferMax: number; flushIntervalMs: number };

export type JournalMetrics = Pick<Metrics, 'decisionJournal' | 'decisionJournalBuffered'>;

const defaultBounds: JournalBounds = {
  batchMax: limits.decisionJournalBatchMax,
  bufferMax: limits.decisionJournalBufferMax,
  flushIntervalMs: limits.decisionJournalFlushIntervalMs,
};

/** Each column with its array type and its value: the INSERT and its parameters come from this one list, so they cannot disagree. */
const columns: ReadonlyArray<readonly [column: string, type: string, value: (entry: JournalEntry) => unknown]> = [
  ['ts', 'timestamptz', (entry) => new Date(entry.ts).toISOString()],
  ['id', 'text', (entry) => entry.id],
  ['user_id', 'text', (entry) => entry.userId],
  ['session_id', 'text', (entry) => entry.sessionId],
  ['request_id', 'text', (entry) => entry.requestId],
  ['policy', 'text', (entry) => entry.policy],
  ['tier', 'text', (entry) => entry.tier],
  ['p', 'float8', (entry) => entry.p],
  ['source', 'text', (entry) => entry.source],
  ['fallback', 'text', (entry) => entry.fallback],
  ['charged', 'int', (entry) => entry.charged],
  ['genre', 'text', (entry) => entry.context.genre],
  ['mood', 'text', (entry) => entry.context.mood],
  ['energy', 'float8', (entry) => entry.context.energy],
  ['orientation', 'text', (entry) => entry.orientation],
  ['factors', 'jsonb', (entry) => JSON.stringify(entry.factors)],
  ['reasons', 'jsonb', (entry) => JSON.stringify(entry.reasons)],
  ['forecast', 'jsonb', (entry) => (entry.forecast === null ? null : JSON.stringify(entry.forecast))],
];

// A retry of a batch that committed but whose answer was lost conflicts on (id, ts) and adds nothing.
const insertDecisions = `INSERT INTO decisions (${columns.map(([column]) => column).join(', ')})
  SELECT * FROM unnest(${columns.map(([, type], index) => `$${index + 1}::${type}[]`).join(', ')})
  ON CONFLICT DO NOTHING`;

/** Why the entry cannot be written, or null. One row the table refuses would sink its whole batch, so it is stopped at the door. */
export function entryProblem(entry: JournalEntry): string | null {
  if (Number.isNaN(new Date(entry.ts).getTime())) return `ts ${entry.ts} is not a time`;
  if (!(entry.p >= 0 && entry.p <= 1)) return `p ${entry.p} is outside 0..1`;
  if (!Number.isInteger(entry.charged) || entry.charged < 0) return `charged ${entry.charged} is not a count of credits`;
  return null;
}

export class DecisionJournal {
  readonly #pool: pg.Pool;
  readonly #log: Logger;
  readonly #metrics: JournalMetrics;
  readonly #bounds: JournalBounds;
  readonly #timer: NodeJS.Timeout;
  readonly #buffer: JournalEntry[] = [];
  /** A batch the database refused once; the next write tries it again, first. */
  #retry: JournalEntry[] | null = null;
  #writing: Promise<void> | null = null;
  /**
   * The last write failed: until one succeeds, only the timer (or `flush`) starts writes, so an
   * outage costs one attempt per tick instead of a loop of them that would drop the buffer fast.
   */
  #backingOff = false;
  /** The buffer is full and decisions are being dropped (logged once per episode, not per decision). */
  #dropping = false;
  #stopped = false;

  constructor(services: { pool: pg.Pool; log: Logger; metrics: JournalMetrics }, bounds: JournalBounds = defaultBounds) {
    this.#pool = services.pool;
    this.#log = services.log;
    this.#metrics = services.metrics;
    this.#bounds = bounds;
    this.#timer = setInterval(() => {
      if (this.#buffer.length > 0 || this.#retry !== null) void this.#write();
    }, bounds.flushIntervalMs);
    // The timer alone must not keep a finished process alive; `stop` writes what is left.
    this.#timer.unref();
  }

  /** Queues a decision. Synchronous and never throws: when it cannot be kept it is dropped and counted. */
  record(entry: JournalEntry): void {
    if (this.#stopped || this.#buffer.length >= this.#bounds.bufferMax) {
      this.#metrics.decisionJournal.inc({ result: 'dropped' });
      if (!this.#dropping) this.#log.warn({ buffered: this.#buffer.length, stopped: this.#stopped }, 'decision journal is dropping decisions');
      this.#dropping = true;
      return;
    }
    const problem = entryProblem(entry);
    if (problem !== null) {
      this.#metrics.decisionJournal.inc({ result: 'invalid' });
      this.#log.error({ decision: entry.id, problem }, 'decision not journaled');
      return;
    }
    this.#dropping = false;
    this.#buffer.push(entry);
    this.#updateBuffered();
    if (this.#buffer.length >= this.#bounds.batchMax && !this.#backingOff) void this.#write();
  }

  /** Writes everything buffered now, after the write in flight (the failures are counted, never thrown). */
  async flush(): Promise<void> {
    while (this.#writing !== null) await this.#writing;
    await this.#write();
  }

  /** Stops the timer, writes what is buffered, and from then on drops (and counts) new decisions. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#stopped = true;
    await this.flush();
    const lost = this.#buffer.length + (this.#retry?.length ?? 0);
    if (lost === 0) return;
    this.#buffer.length = 0;
    this.#retry = null;
    this.#updateBuffered();
    this.#metrics.decisionJournal.inc({ result: 'dropped' }, lost);
    this.#log.warn({ decisions: lost }, 'decisions not journaled before stopping');
  }

  /** Creates the day partitions from today to `daysAhead` days ahead; returns how many were new. */
  async ensurePartitions(daysAhead: number): Promise<number> {
    const { rows } = await this.#pool.query<{ created: number }>(`SELECT ensure_decision_partitions($1::int) AS created`, [daysAhead]);
    return rows[0]!.created;
  }

  /** Drops the day partitions wholly older than `keepDays` days (never the default); returns how many. */
  async dropOldPartitions(keepDays: number): Promise<number> {
    const { rows } = await this.#pool.query<{ dropped: number }>(`SELECT drop_decision_partitions($1::int) AS dropped`, [keepDays]);
    return rows[0]!.dropped;
  }

  /** Starts a write unless one is in flight, and returns the one in flight. */
  #write(): Promise<void> {
    this.#writing ??= this.#writeBuffered()
      .catch((error: unknown) => this.#log.error({ err: error }, 'decision journal write failed unexpectedly'))
      .finally(() => {
        this.#writing = null;
      });
    return this.#writing;
  }

  /**
   * The batch awaiting its retry, then what is buffered when the write starts, batch by batch.
   * Decisions recorded meanwhile wait for the next write, so a write always ends. The first
   * failure ends it too: the database is unwell, and the next write will try again.
   */
  async #writeBuffered(): Promise<void> {
    const retry = this.#retry;
    this.#retry = null;
    if (retry !== null && !(await this.#insert(retry))) {
      this.#metrics.decisionJournal.inc({ result: 'dropped' }, retry.length);
      this.#log.warn({ decisions: retry.length }, 'decision batch dropped after its retry failed');
      return;
    }
    let remaining = this.#buffer.length;
    while (remaining > 0) {
      const batch = this.#buffer.splice(0, Math.min(remaining, this.#bounds.batchMax));
      remaining -= batch.length;
      if (!(await this.#insert(batch))) {
        this.#retry = batch;
        this.#updateBuffered();
        return;
      }
    }
  }

  /** True when the batch is in the table; false, logged and counted, when the database refused it. */
  async #insert(batch: JournalEntry[]): Promise<boolean> {
    this.#updateBuffered();
    try {
      // A named statement is parsed and planned once per connection.
      await this.#pool.query({ name: 'decisions_insert', text: insertDecisions, values: columns.map(([, , value]) => batch.map(value)) });
      this.#metrics.decisionJournal.inc({ result: 'written' }, batch.length);
      this.#backingOff = false;
      return true;
    } catch (error) {
      this.#metrics.decisionJournal.inc({ result: 'failed' }, batch.length);
      this.#backingOff = true;
      this.#log.warn({ err: error, decisions: batch.length }, 'decision batch not written');
      return false;
    }
  }

  #updateBuffered(): void {
    this.#metrics.decisionJournalBuffered.set(this.#buffer.length + (this.#retry?.length ?? 0));
  }
}
