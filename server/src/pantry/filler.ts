/**
 * Pantry filling: thin buckets ask for frames, and the generation worker makes them in the
 * background queue (after every interactive job), with the cheapest configured model, within a
 * daily dollar budget. Fills are generations with purpose 'pantry': no user, no charge; their
 * image joins the library (worker.ts).
 *
 * Two triggers:
 *   miss      a decision found a bucket short: a couple of fills for that bucket at once (at most
 *             once a minute per bucket and process), so the gap starts closing while it hurts;
 *   schedule  every few minutes, `planFill` (coverage.ts) ranks every bucket by deficit — frames
 *             short for a new user or for the shallowest active user, styles missing, weighted by
 *             the misses of the last day from every process — and queues what the run allows.
 *
 * Every enqueue is one transaction under an advisory lock: the open fills of the bucket and the
 * day's spend are read, the generations inserted and their jobs sent, so that two processes can
 * never both pass the same check. This module also owns the `pantry_misses` table.
 */
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { Logger } from 'pino';
import { frameSizes, artStyles } from './art.js';
import { bucketKey, depthDistribution, planFill, styleToAdd, type Bucket, type BucketStatus, type CoverageRules, type FillOrder } from './coverage.js';
import type { PantryCatalog } from './catalog.js';
import type { CoverageMonitor } from './monitor.js';
import { modelOfGrade, type ModelSpec } from '../generation/models.js';
import { buildPrompt, promptHash, promptKeyOf } from '../generation/prompt.js';
import type { GenerationQueue } from '../generation/queue.js';
import type { GenerationStore, NewGeneration } from '../generation/store.js';
import { limits } from '../limits.js';
import type { Metrics } from '../metrics/metrics.js';

/** Energies a bucket's fills rotate through, so a bucket covers quiet and loud tracks alike. */
const fillEnergies = [0.1, 0.3, 0.5, 0.7, 0.9] as const;
const lockKey = 'titrate:pantry-fill';
/** Below every other background job: a player's congested frame never waits behind a fill. */
const fillPriority = -10;

export type FillSettings = { enabled: boolean; dollarsPerDay: number; rules: CoverageRules };

export type FillServices = {
  pool: pg.Pool;
  generations: GenerationStore;
  queue: GenerationQueue;
  catalog: PantryCatalog;
  monitor: CoverageMonitor;
  provider: string;
  models: readonly ModelSpec[];
  metrics: Metrics;
  log: Logger;
  /** Called after fills were queued (wakes a local worker). */
  onEnqueued: () => void;
  now?: () => number;
};

export type FillRun = { orders: FillOrder[]; queued: number; overBudget: boolean };

export type CoverageReport = {
  rules: CoverageRules;
  /** Unseen depths are those of users active on this process within the window. */
  activeWindowMinutes: number;
  totals: { frames: number; buckets: number; thinForNewUsers: number; openFills: number; missesInWindow: number };
  buckets: Array<{
    genre: string;
    mood: string;
    orientation: string;
    total: number;
    styles: number;
    styleCounts: Record<string, number>;
    missesInWindow: number;
    openFills: number;
    /** Whether a user who has seen nothing here meets the guardrails with native frames alone. */
    meetsForNewUsers: boolean;
    unseenDepth: ReturnType<typeof depthDistribution>;
    activeUsersBelowMinimum: number;
  }>;
};

export class PantryFiller {
  readonly #services: FillServices;
  readonly #settings: FillSettings;
  readonly #model: ModelSpec;
  /** bucket key → when its last miss queued fills (catalog buckets only, so bounded by the catalog). */
  readonly #lastMissFill = new Map<string, number>();
  #flushTimer: NodeJS.Timeout | null = null;

  constructor(services: FillServices, settings: FillSettings) {
    this.#services = services;
    this.#settings = settings;
    this.#model = modelOfGrade(services.models, 'cheap');
  }

  /** Starts the periodic batch write of misses. */
  start(): void {
    this.#flushTimer = setInterval(() => void this.flushMisses(), limits.coverageMissFlushIntervalMs);
    this.#flushTimer.unref();
  }

  async stop(): Promise<void> {
    if (this.#flushTimer !== null) clearInterval(this.#flushTimer);
    await this.flushMisses();
  }

  /** A decision missed in this bucket: queue a few fills, at most once per interval per bucket. */
  onMiss(bucket: Bucket): void {
    if (!this.#settings.enabled) return;
    const key = bucketKey(bucket);
    const nowMs = (this.#services.now ?? Date.now)();
    const last = this.#lastMissFill.get(key);
    if (last !== undefined && nowMs - last < limits.pantryFillMissIntervalMs) return;
    if (this.#lastMissFill.size >= limits.coverageMissBucketsMax) this.#lastMissFill.clear();
    this.#lastMissFill.set(key, nowMs);
    const order: FillOrder = { bucket, count: limits.pantryFillPerMiss, deficit: 0, reasons: ['coverage miss'] };
    this.#enqueue([order]).catch((error: unknown) => this.#services.log.warn({ err: error, bucket: key }, 'queueing pantry fills after a miss failed'));
  }

  /** Writes the misses held in memory, one statement for all buckets. */
  async flushMisses(): Promise<void> {
    const misses = this.#services.monitor.takeMisses();
    if (misses.length === 0) return;
    try {
      await this.#services.pool.query(
        `INSERT INTO pantry_misses (genre, mood, orientation, hour, misses)
         SELECT genre, mood, orientation, date_trunc('hour', now()), misses
         FROM unnest($1::text[], $2::text[], $3::text[], $4::int[]) AS m(genre, mood, orientation, misses)
         ON CONFLICT (genre, mood, orientation, hour) DO UPDATE SET misses = pantry_misses.misses + EXCLUDED.misses`,
        [misses.map((m) => m.bucket.genre), misses.map((m) => m.bucket.mood), misses.map((m) => m.bucket.orientation), misses.map((m) => m.misses)],
      );
    } catch (error) {
      this.#services.monitor.returnMisses(misses);
      this.#services.log.warn({ err: error }, 'writing coverage misses failed; kept for the next flush');
    }
  }

  /** Every bucket's coverage status now: the catalog, the misses of the window, open fills, depths. */
  async statuses(): Promise<BucketStatus[]> {
    return (await this.#snapshot()).map((entry) => entry.status);
  }

  /** The statuses with what the report shows besides: style counts and every active user's depth. */
  async #snapshot(): Promise<Array<{ status: BucketStatus; styleCounts: Map<string, number>; depths: number[] }>> {
    await this.flushMisses();
    const [misses, open] = await Promise.all([this.#recentMisses(), this.#services.generations.openFills()]);
    const depths = this.#services.monitor.activeDepths();
    const snapshot = this.#services.catalog.buckets().map((bucket) => {
      const key = bucketKey(bucket);
      const bucketDepths = depths.get(key) ?? [];
      const status: BucketStatus = {
        genre: bucket.genre, mood: bucket.mood, orientation: bucket.orientation, total: bucket.total, styles: bucket.styleCounts.size,
        misses: misses.get(key) ?? 0, openFills: open.get(key) ?? 0, unseenLow: depthDistribution(bucketDepths)?.p10 ?? null,
      };
      return { status, styleCounts: bucket.styleCounts, depths: bucketDepths };
    });
    const { metrics } = this.#services;
    for (const { status } of snapshot) {
      const labels = { genre: status.genre, mood: status.mood, orientation: status.orientation };
      metrics.coverageFrames.set(labels, status.total);
      metrics.coverageStyles.set(labels, status.styles);
      if (status.unseenLow !== null) metrics.coverageUnseenLow.set(labels, status.unseenLow);
      else metrics.coverageUnseenLow.remove(labels);
    }
    return snapshot;
  }

  /** Per bucket: frames, styles, misses, open fills and the unseen depth of active users. */
  async report(): Promise<CoverageReport> {
    const snapshot = await this.#snapshot();
    const statuses = snapshot.map((entry) => entry.status);
    const { rules } = this.#settings;
    const buckets = snapshot.map(({ status, styleCounts, depths: bucketDepths }) => {
      return {
        genre: status.genre, mood: status.mood, orientation: status.orientation, total: status.total, styles: status.styles,
        styleCounts: Object.fromEntries(styleCounts), missesInWindow: status.misses, openFills: status.openFills,
        meetsForNewUsers: status.total >= rules.minUnseen && status.styles >= rules.minStyles && status.total > 0,
        unseenDepth: depthDistribution(bucketDepths), activeUsersBelowMinimum: bucketDepths.filter((depth) => depth < rules.minUnseen).length,
      };
    });
    return {
      rules, activeWindowMinutes: limits.coverageActiveWindowMs / 60_000,
      totals: {
        frames: this.#services.catalog.size, buckets: buckets.length, thinForNewUsers: buckets.filter((bucket) => !bucket.meetsForNewUsers).length,
        openFills: statuses.reduce((sum, status) => sum + status.openFills, 0), missesInWindow: statuses.reduce((sum, status) => sum + status.misses, 0),
      },
      buckets,
    };
  }

  /** The scheduled run: plan over every bucket and queue what the plan and the budget allow. */
  async run(): Promise<FillRun> {
    await this.#services.pool.query(`DELETE FROM pantry_misses WHERE hour < now() - make_interval(hours => $1::int)`, [limits.coverageMissWindowHours * 2]);
    if (!this.#settings.enabled) return { orders: [], queued: 0, overBudget: false };
    const orders = planFill(await this.statuses(), {
      rules: this.#settings.rules, perRunMax: limits.pantryFillPerRunMax, openPerBucketMax: limits.pantryFillOpenPerBucketMax,
    });
    const result = await this.#enqueue(orders);
    if (result.queued > 0) this.#services.log.info({ queued: result.queued, buckets: orders.length, overBudget: result.overBudget }, 'pantry fills queued');
    return { orders, ...result };
  }

  async #recentMisses(): Promise<Map<string, number>> {
    const { rows } = await this.#services.pool.query<{ key: string; misses: number }>(
      `SELECT genre || '|' || mood || '|' || orientation AS key, sum(misses)::int AS misses FROM pantry_misses
       WHERE hour >= date_trunc('hour', now()) - make_interval(hours => $1::int) GROUP BY 1`,
      [limits.coverageMissWindowHours],
    );
    return new Map(rows.map((row) => [row.key, row.misses]));
  }

  /** Queues the orders in one locked transaction; stops at the daily budget. */
  async #enqueue(orders: readonly FillOrder[]): Promise<{ queued: number; overBudget: boolean }> {
    if (orders.length === 0) return { queued: 0, overBudget: false };
    const { pool, generations, queue, metrics } = this.#services;
    const client = await pool.connect();
    let queued = 0;
    let overBudget = false;
    try {
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [lockKey]);
      const open = await generations.openFills(client);
      let spent = await generations.fillDollarsToday(client);
      for (const order of orders) {
        const key = bucketKey(order.bucket);
        const room = Math.max(0, Math.min(order.count, limits.pantryFillOpenPerBucketMax - (open.get(key) ?? 0)));
        let added = 0;
        const styleCounts = new Map(this.#styleCounts(order.bucket));
        for (let index = 0; index < room; index += 1) {
          if (spent + this.#model.usd > this.#settings.dollarsPerDay) {
            overBudget = true;
            break;
          }
          const style = styleToAdd(styleCounts, artStyles);
          styleCounts.set(style, (styleCounts.get(style) ?? 0) + 1);
          const generation = await this.#generation(client, order, style, this.#services.catalog.framesIn(order.bucket).length + index);
          await generations.insert(client, generation);
          await queue.send(client, 'background', generation.id, fillPriority);
          spent += this.#model.usd;
          queued += 1;
          added += 1;
        }
        open.set(key, (open.get(key) ?? 0) + added);
        if (overBudget) break;
      }
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
    if (queued > 0) {
      metrics.pantryFills.inc({ result: 'queued' }, queued);
      this.#services.onEnqueued();
    }
    if (overBudget) metrics.pantryFills.inc({ result: 'over_budget' });
    return { queued, overBudget };
  }

  /** The bucket's frames per style (its own frames only, not the whole catalog). */
  #styleCounts(bucket: Bucket): Map<string, number> {
    const counts = new Map<string, number>();
    for (const frame of this.#services.catalog.framesIn(bucket)) counts.set(frame.style, (counts.get(frame.style) ?? 0) + 1);
    return counts;
  }

  async #generation(client: pg.PoolClient, order: FillOrder, style: string, ordinal: number): Promise<NewGeneration> {
    const { bucket } = order;
    const { width, height } = frameSizes[bucket.orientation];
    const energy = fillEnergies[ordinal % fillEnergies.length]!;
    const prompt = buildPrompt({ context: { genre: bucket.genre, mood: bucket.mood, energy }, style, orientation: bucket.orientation });
    const promptKey = promptKeyOf({ modelId: this.#model.id, width, height, prompt: prompt.text });
    const variant = await this.#services.generations.nextVariant(promptKey, client);
    const id = randomUUID();
    return {
      id, userId: null, sessionId: 'pantry', requestId: `fill-${id}`, purpose: 'pantry', queue: 'background', charge: 'none',
      provider: this.#services.provider, model: this.#model.id, credits: 0, usd: this.#model.usd, ledgerId: null, prompt: prompt.text, promptKey,
      // The bucket's own labels (the prompt's are shortened): the frame must land in the bucket it fills.
      promptHash: promptHash(promptKey, variant), variant, genre: bucket.genre, mood: bucket.mood, style, energy: prompt.energy,
      orientation: bucket.orientation, width, height, p: 0, reasons: ['pantry fill', ...order.reasons], deadlineMs: limits.pantryFillDeadlineMs,
    };
  }
}
