/**
 * Coverage guardrails (pure): is the library deep enough, for this user and this screen, that
 * titration may lean on it? And which buckets should the pantry fill first?
 *
 * A bucket is genre × mood × orientation. For a user and a screen, the frames that *fit well* are
 * those of the screen's orientation and those that crop to it (see fit.ts); fills keep the show
 * going but do not count as coverage. Of those, the guardrail asks for
 *
 *   unseen ≥ minUnseen        enough frames this user has not seen (a session's worth and more),
 *   styles ≥ minStyles        among them enough distinct styles (variety, not 60 near-twins),
 *   unseen / total > share    and the unseen part not a thin remainder of a bucket mostly seen.
 *
 * When any fails, the decision is forced fresh (within credits and caps) and the bucket is counted
 * as a miss; misses, shallow unseen depth and missing styles rank the buckets the fill job feeds.
 */
import type { Orientation } from '@titrate/shared';

export type CoverageRules = { minUnseen: number; minStyles: number; minUnseenShare: number };

export const defaultCoverageRules: CoverageRules = { minUnseen: 60, minStyles: 5, minUnseenShare: 0.3 };

/** What a user has left in one bucket. */
export type BucketCoverage = {
  /** Frames that fit this screen well (exact and croppable). */
  total: number;
  /** Of those, frames this user has not seen. */
  unseen: number;
  /** Distinct styles among the unseen ones. */
  styles: number;
  /** Unseen frames of the screen's own orientation. */
  exactUnseen: number;
};

export type Bucket = { genre: string; mood: string; orientation: Orientation };

export function bucketKey(bucket: Bucket): string {
  return `${bucket.genre}|${bucket.mood}|${bucket.orientation}`;
}

export const shortfalls = ['unseen', 'styles', 'share'] as const;
export type Shortfall = (typeof shortfalls)[number];

/** One decision's library check: a miss when `shortfalls` is not empty. */
export type CoverageCheck = { userId: string; bucket: Bucket; coverage: BucketCoverage; shortfalls: Shortfall[] };

/** The guardrails this coverage fails, in the order above; empty when the library may be used. */
export function shortfallsOf(coverage: BucketCoverage, rules: CoverageRules): Shortfall[] {
  const missing: Shortfall[] = [];
  if (coverage.unseen < rules.minUnseen) missing.push('unseen');
  if (coverage.styles < rules.minStyles) missing.push('styles');
  const share = coverage.total === 0 ? 0 : coverage.unseen / coverage.total;
  // A zero rule is off (all three zero turn the guardrails off); otherwise the share must be above it.
  if (rules.minUnseenShare > 0 && !(share > rules.minUnseenShare)) missing.push('share');
  return missing;
}

export function describeShortfalls(coverage: BucketCoverage, rules: CoverageRules, missing: readonly Shortfall[]): string {
  const parts = missing.map((shortfall) => {
    if (shortfall === 'unseen') return `${coverage.unseen} unseen frames (needs ${rules.minUnseen})`;
    if (shortfall === 'styles') return `${coverage.styles} styles (needs ${rules.minStyles})`;
    return `${Math.round((100 * coverage.unseen) / Math.max(1, coverage.total))}% unseen (needs over ${Math.round(100 * rules.minUnseenShare)}%)`;
  });
  return `thin library for this screen: ${parts.join(', ')}`;
}

/**
 * How healthy the library is for this user, 0..1: 1 at twice every threshold, falling linearly to 0
 * at zero. The controller leans to fresh as it falls (its library-penalty input is 1 − health).
 */
export function libraryHealth(coverage: BucketCoverage, rules: CoverageRules): number {
  const ratio = (value: number, threshold: number) => (threshold <= 0 ? 1 : Math.min(1, value / (2 * threshold)));
  const share = coverage.total === 0 ? 0 : coverage.unseen / coverage.total;
  return Math.min(ratio(coverage.unseen, rules.minUnseen), ratio(coverage.styles, rules.minStyles), ratio(share, rules.minUnseenShare));
}

/**
 * How much of what this screen would get is adapted rather than native, 0..1: 1 when no unseen
 * frame has the screen's orientation (every frame would be cropped or filled).
 */
export function orientationScarcity(coverage: BucketCoverage): number {
  return coverage.unseen === 0 ? 1 : 1 - coverage.exactUnseen / coverage.unseen;
}

// --- Filling ---------------------------------------------------------------------------------

export type BucketStatus = Bucket & {
  /** Library frames of this orientation. */
  total: number;
  /** Distinct styles among them. */
  styles: number;
  /** Coverage misses in the recent window (all nodes). */
  misses: number;
  /** Fill generations already queued or running. */
  openFills: number;
  /** The shallowest unseen depth among active users (the 10th percentile), when known. */
  unseenLow: number | null;
};

export type FillPlanSettings = {
  rules: CoverageRules;
  /** Fill generations queued in one run, over all buckets. */
  perRunMax: number;
  /** Fill generations under way for one bucket at once. */
  openPerBucketMax: number;
};

export type FillOrder = { bucket: Bucket; count: number; deficit: number; reasons: string[] };

/**
 * How many frames a bucket lacks: enough that a new user meets the guardrails (minUnseen frames,
 * minStyles styles), and enough that the active user with the least left is back above minUnseen.
 */
export function framesShort(status: BucketStatus, rules: CoverageRules): number {
  const forNewUsers = Math.max(0, rules.minUnseen - status.total, rules.minStyles - status.styles);
  const forActiveUsers = status.unseenLow === null ? 0 : Math.max(0, rules.minUnseen - status.unseenLow);
  return Math.max(forNewUsers, forActiveUsers);
}

/**
 * The fill plan: buckets ranked by deficit — frames short, weighted up by the misses players
 * actually hit (a bucket nobody plays is filled last) — each given what it lacks, within the
 * per-bucket and per-run bounds.
 */
export function planFill(statuses: readonly BucketStatus[], settings: FillPlanSettings): FillOrder[] {
  const ranked = statuses
    .map((status) => {
      const short = framesShort(status, settings.rules);
      const deficit = short * (1 + Math.log1p(status.misses));
      return { status, short, deficit };
    })
    .filter((entry) => entry.short > 0 && entry.status.openFills < settings.openPerBucketMax)
    .sort((a, b) => b.deficit - a.deficit || bucketKey(a.status).localeCompare(bucketKey(b.status)));
  const orders: FillOrder[] = [];
  let left = settings.perRunMax;
  for (const { status, short, deficit } of ranked) {
    if (left <= 0) break;
    const count = Math.min(short, settings.openPerBucketMax - status.openFills, left);
    left -= count;
    const reasons = [`${short} frames short`];
    if (status.misses > 0) reasons.push(`${status.misses} recent misses`);
    if (status.styles < settings.rules.minStyles) reasons.push(`${status.styles} styles`);
    orders.push({ bucket: { genre: status.genre, mood: status.mood, orientation: status.orientation }, count, deficit, reasons });
  }
  return orders;
}

/** The style a fill should add: the one the bucket has least of (ties in the given order). */
export function styleToAdd(styleCounts: ReadonlyMap<string, number>, styles: readonly string[]): string {
  let best = styles[0]!;
  for (const style of styles) if ((styleCounts.get(style) ?? 0) < (styleCounts.get(best) ?? 0)) best = style;
  return best;
}

/** Quantiles of unseen depth across users (nearest rank), for the report and the fill plan. */
export function depthDistribution(depths: readonly number[]): { users: number; min: number; p10: number; p50: number; p90: number; max: number } | null {
  if (depths.length === 0) return null;
  const sorted = [...depths].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
  return { users: sorted.length, min: sorted[0]!, p10: at(0.1), p50: at(0.5), p90: at(0.9), max: sorted[sorted.length - 1]! };
}
