/**
 * The coverage monitor: every decision's library check passes through here (in process, cheap),
 * to keep three things:
 *
 *   - each active user's unseen depth per bucket, for the coverage report's distribution and the
 *     fill plan's "shallowest active user" (bounded: the most recent `coverageActiveUsersMax`
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

type Depth = { bucket: Bucket; unseen: number; atMs: number };

export class CoverageMonitor {
  /** `${bucketKey}\n${userId}` → depth, least recently updated first. */
  readonly #depths = new Map<string, Depth>();
  readonly #misses = new Map<string, { bucket: Bucket; misses: number }>();
  readonly #metrics: Metrics;
  readonly #now: () => number;
  #onMiss: (bucket: Bucket) => void = () => undefined;

  constructor(options: { metrics: Metrics; now?: () => number }) {
    this.#metrics = options.metrics;
    this.#now = options.now ?? Date.now;
  }

  /** Where misses go to be filled (set once the filler exists). */
  onMiss(handler: (bucket: Bucket) => void): void {
    this.#onMiss = handler;
  }

  observe(check: CoverageCheck): void {
    const key = `${bucketKey(check.bucket)}\n${check.userId}`;
    this.#depths.delete(key);
    this.#depths.set(key, { bucket: check.bucket, unseen: check.coverage.unseen, atMs: this.#now() });
    if (this.#depths.size > limits.coverageActiveUsersMax) this.#depths.delete(this.#depths.keys().next().value!);
    if (check.shortfalls.length === 0) return;
    const labels = { genre: check.bucket.genre, mood: check.bucket.mood, orientation: check.bucket.orientation };
    for (const shortfall of check.shortfalls) this.#metrics.coverageMisses.inc({ ...labels, shortfall });
    const bucket = bucketKey(check.bucket);
    const held = this.#misses.get(bucket);
    if (held !== undefined) held.misses += 1;
    else if (this.#misses.size < limits.coverageMissBucketsMax) this.#misses.set(bucket, { bucket: check.bucket, misses: 1 });
    this.#onMiss(check.bucket);
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
    for (const [key, depth] of this.#depths) {
      if (depth.atMs < since) {
        this.#depths.delete(key);
        continue;
      }
      const bucket = bucketKey(depth.bucket);
      const depths = byBucket.get(bucket) ?? [];
      depths.push(depth.unseen);
      byBucket.set(bucket, depths);
    }
    return byBucket;
  }
}
