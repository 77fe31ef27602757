/**
 * The coverage monitor: every decision's library check passes through here (in process, cheap),
 * to keep three things:
 *
 *   - each active user's unseen depth per bucket, for the coverage report's distribution and the
 *     fill plan's "shallowest active user" (bounded: the most recent `coverageActivePairsMax`
 *     user × bucket pairs, each forgotten `coverageActiveWindowMs` after its last frame);
 *   - misses, counted in metrics at once and held per bucket until the next batch write;
 *   - a call to `onMiss`, which queues fills for the bucket (the filler debounces it).
 *
 * Each process sees its own players; the report says so, and the misses reach the database from
 * every process, so the scheduled fill ranks by all of them.
 */
import { limits } from '../limits.js';
import type { Metrics } from '../metrics/metrics.js';
import { bucketKey, type Bucket, type CoverageCheck } from './coverage.js';

/** A user's unseen depth in one bucket, updated in place by each of their decisions there. */
type Depth = { readonly bucket: Bucket; unseen: number; atMs: number };

export class CoverageMonitor {
  /**
   * User id → the user's depths, one per bucket, least recently updated user first. A decision
   * updates its pair in place: no key is built and nothing is made for it, since one is made per
   * decision and the same few pairs are updated over and over.
   */
  readonly #depths = new Map<string, Depth[]>();
  /** User × bucket pairs in `#depths` (at most `#pairsMax`, `coverageActivePairsMax` unless told). */
  #pairs = 0;
  readonly #misses = new Map<string, { bucket: Bucket; misses: number }>();
  readonly #metrics: Metrics;
  readonly #now: () => number;
  #onMiss: (bucket: Bucket) => void = () => undefined;

  readonly #pairsMax: number;

  constructor(options: { metrics: Metrics; now?: () => number; activePairsMax?: number }) {
    this.#metrics = options.metrics;
    this.#now = options.now ?? Date.now;
    this.#pairsMax = options.activePairsMax ?? limits.coverageActivePairsMax;
  }

  /** Where misses go to be filled (set once the filler exists). */
  onMiss(handler: (bucket: Bucket) => void): void {
    this.#onMiss = handler;
  }

  observe(check: CoverageCheck): void {
    this.#noteDepth(check);
    if (check.shortfalls.length === 0) return;
    const { genre, mood, orientation } = check.bucket;
    for (const shortfall of check.shortfalls) this.#metrics.coverageMisses.inc({ genre, mood, orientation, shortfall });
    const bucket = bucketKey(check.bucket);
    const held = this.#misses.get(bucket);
    if (held !== undefined) held.misses += 1;
    else if (this.#misses.size < limits.coverageMissBucketsMax) this.#misses.set(bucket, { bucket: check.bucket, misses: 1 });
    this.#onMiss(check.bucket);
  }

  #noteDepth(check: CoverageCheck): void {
    const atMs = this.#now();
    const unseen = check.coverage.unseen;
    let depths = this.#depths.get(check.userId);
    if (depths === undefined) depths = [];
    else this.#depths.delete(check.userId);
    // Moved to the back: the users updated longest ago are the first to go.
    this.#depths.set(check.userId, depths);
    for (const depth of depths) {
      if (sameBucket(depth.bucket, check.bucket)) {
        depth.unseen = unseen;
        depth.atMs = atMs;
        return;
      }
    }
    depths.push({ bucket: check.bucket, unseen, atMs });
    this.#pairs += 1;
    while (this.#pairs > this.#pairsMax && this.#depths.size > 1) {
      const [userId, oldest] = this.#depths.entries().next().value!;
      this.#depths.delete(userId);
      this.#pairs -= oldest.length;
    }
  }

  /** The misses since the last call (for the batch write); the caller puts them back on failure. */
  takeMisses(): Array<{ bucket: Bucket; misses: number }> {
    const taken = [...this.#misses.values()];
    this.#misses.clear();
    return taken;
  }

  returnMisses(returned: ReadonlyArray<{ bucket: Bucket; misses: number }>): void {
    for (const { bucket, misses } of returned) {
      const key = bucketKey(bucket);
      const held = this.#misses.get(key);
      if (held !== undefined) held.misses += misses;
      else if (this.#misses.size < limits.coverageMissBucketsMax) this.#misses.set(key, { bucket, misses });
    }
  }

  /** Unseen depths of the users active in each bucket within the window, by bucket key. */
  activeDepths(): Map<string, number[]> {
    const since = this.#now() - limits.coverageActiveWindowMs;
    const byBucket = new Map<string, number[]>();
    for (const [userId, held] of this.#depths) {
      const active = held.some((depth) => depth.atMs < since) ? held.filter((depth) => depth.atMs >= since) : held;
      this.#pairs -= held.length - active.length;
      if (active.length === 0) this.#depths.delete(userId);
      else if (active !== held) this.#depths.set(userId, active);
      for (const depth of active) {
        const bucket = bucketKey(depth.bucket);
        const unseen = byBucket.get(bucket) ?? [];
        unseen.push(depth.unseen);
        byBucket.set(bucket, unseen);
      }
    }
    return byBucket;
  }
}

const sameBucket = (a: Bucket, b: Bucket): boolean => a.genre === b.genre && a.mood === b.mood && a.orientation === b.orientation;
