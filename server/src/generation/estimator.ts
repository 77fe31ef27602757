/**
 * The wait estimate on the hot path: one database sample (queue depth, live worker slots, recent
 * generation time) shared by every request for `sampleTtlMs`, refreshed by whichever request finds
 * it stale. A failed sample keeps the last good one: the estimate is advice, never a gate.
 */
import { estimateWaitMs, type QueueSample } from './congestion.js';
import type { GenerationStore } from './store.js';

export const estimatorLimits = {
  /** A sample is reused this long; fresher adds load, staler reacts late to a burst. */
  sampleTtlMs: 1_000,
  /** A worker without a heartbeat this long is not counted (three missed beats). */
  workerAliveMs: 15_000,
  /** Generations averaged for the recent duration. */
  recentGenerations: 20,
} as const;

export class WaitEstimator {
  readonly #store: GenerationStore;
  readonly #onSample: (sample: { queued: number; running: number; slots: number }) => void;
  #sample: QueueSample | null = null;
  #sampledAtMs = 0;
  #refreshing: Promise<void> | null = null;

  constructor(store: GenerationStore, onSample: (sample: { queued: number; running: number; slots: number }) => void = () => undefined) {
    this.#store = store;
    this.#onSample = onSample;
  }

  /** Estimated milliseconds until a fresh frame enqueued now would be ready (∞ without workers). */
  async etaMs(): Promise<number> {
    if (this.#sample === null || Date.now() - this.#sampledAtMs > estimatorLimits.sampleTtlMs) await this.#refresh();
    return estimateWaitMs(this.#sample ?? { queued: 0, slots: 0, recentMs: null });
  }

  /** Counts a generation this process just enqueued, until the next sample sees it. */
  noteEnqueued(): void {
    if (this.#sample !== null) this.#sample = { ...this.#sample, queued: this.#sample.queued + 1 };
  }

  #refresh(): Promise<void> {
    this.#refreshing ??= this.#store
      .sample(estimatorLimits.workerAliveMs, estimatorLimits.recentGenerations)
      .then((row) => {
        this.#sample = { queued: row.queued, slots: row.slots, recentMs: row.recentMs };
        this.#sampledAtMs = Date.now();
        this.#onSample(row);
      })
      .catch(() => undefined)
      .finally(() => {
        this.#refreshing = null;
      });
    return this.#refreshing;
  }
}
