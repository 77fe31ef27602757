/**
 * How long a new fresh frame would wait (pure): the jobs ahead of it spread over the worker
 * slots, each taking about as long as recent generations took, plus its own generation.
 *
 *   etaMs = ceil((queued + 1) / slots) × recentMs     (slots > 0)
 *   etaMs = ∞                                          (no worker is alive)
 *
 * Running jobs are not counted ahead: each holds a slot that frees within about one `recentMs`,
 * which the "+1 round" already allows for. `recentMs` is an average over recent generations,
 * seeded with a prior before any has finished so that a cold server does not promise zero.
 */
export type QueueSample = {
  /** Interactive generations waiting for a worker. */
  queued: number;
  /** Worker slots alive across every process. */
  slots: number;
  /** Mean duration of recent generations, or null when none finished recently. */
  recentMs: number | null;
};

export const congestion = {
  /** An estimated wait above this answers with a library frame now and generates in the background. */
  thresholdMs: 30_000,
  /** The generation time assumed before any has been measured. */
  priorGenerationMs: 4_000,
} as const;

export function estimateWaitMs(sample: QueueSample): number {
  if (sample.slots <= 0) return Number.POSITIVE_INFINITY;
  const rounds = Math.ceil((sample.queued + 1) / sample.slots);
  return rounds * (sample.recentMs ?? congestion.priorGenerationMs);
}

export function isCongested(etaMs: number, thresholdMs: number = congestion.thresholdMs): boolean {
  return etaMs > thresholdMs;
}
