/**
 * Offline policy evaluation: what a candidate policy would have earned (reward) and spent (credits)
 * on the decisions the server logged, without running it. Pure — a log in, estimates out — so the
 * server's `npm run ope`, the simulator and the tests share it.
 *
 * Every logged decision carries the probability of fresh the server used for it (`pFresh`, after
 * clamps, hysteresis, caps and the bandit) and, once the player's beacon arrived, its reward (0/1).
 * The dithered decision's marginal probability of fresh is that p, up to effects docs/bandit.md
 * measures (~1%), so it serves as the propensity. Notation for decision i: x its segment, a the arm shown, r the reward, c the
 * credits charged, μ(a) the logging policy's probability of a (μ(fresh) = pFresh, μ(library) =
 * 1 − pFresh), π(a) the candidate's.
 *
 *   weight            w = π(a) / μ(a); 1 when π(a) = μ(a); 0 when π(a) = 0. When μ(a) = 0 < π(a)
 *                     the decision is *unidentifiable* (the log never could have shown what the
 *                     candidate would): it is counted, weighted 0, and IPS/SNIPS are biased by
 *                     leaving it out (DR falls back to its model there). μ(a) below
 *                     `propensityMin` (1e-6) counts as 0, so no weight exceeds a million.
 *   IPS               V = (1/n) Σ w·r                    SE = sd(w·r) / √n
 *   SNIPS             V = Σ w·r / Σ w                    SE² = Σ w²(r − V)² / (Σ w)²  (delta method)
 *   DR                V = (1/n) Σ [ Σ_b π(b)·q̂(x,b) + w·(r − q̂(x,a)) ]   SE = sd(term) / √n
 *   direct model      q̂(x,a) = (Σ r of the log's (x,a) decisions + k·r̄(a)) / (n(x,a) + k): the
 *                     segment's mean shrunk towards the arm's mean over the log, k = 10 decisions
 *   versus the log    D = (1/n) Σ (w − 1)·r = IPS − the log's mean, SE = sd((w − 1)·r) / √n: the
 *                     candidate's gain over the logging policy on the same decisions (paired, so
 *                     far tighter than the difference of two intervals: most w are near 1)
 *   interval          V ± z·SE (z = 1.96 by default: 95%)
 *   effective size    ESS = (Σ w)² / Σ w²  (n when every w is 1; small means a few decisions carry it)
 *   reward per credit R = Σ w·r / Σ w·c                  SE² = Σ w²(r − R·c)² / (Σ w·c)²
 *   lift per credit   L = Σ w·(r − q̂(x,library)) / Σ w·c   SE² = Σ w²(r − q̂(x,library) − L·c)² / (Σ w·c)²
 *                     what the credits bought over the library frame the same decision would
 *                     have shown (the measure the bandit is judged by); null when Σ w·c = 0.
 * Spend is estimated exactly like reward, with c in place of r.
 *
 * Candidates re-decide p from the log. For an *eligible* decision (titrated, no constraint) the
 * controller's own p is pFresh / multiplier, and a candidate multiplies it by its own multiplier,
 * clamped to [0, pMax]; an ineligible decision (a mode or constraint forced p) keeps pFresh, since
 * no candidate could change it. The bandit candidates learn their segment statistics from the log
 * itself and use their *expected* multiplier over their own randomness (see `candidateNamed`).
 */
import {
  emptySegment,
  expectedFreshShare,
  defaultBanditSettings,
  referenceLift,
  type Arm,
  type BanditAlgorithm,
  type BanditSettings,
  type SegmentStats,
} from './policy.js';

export type LoggedDecision = {
  /** `${tier}|${genre}|${mood}` */
  segment: string;
  /** What was shown. */
  arm: Arm;
  /** The logging policy's probability of fresh for this decision (0..1). */
  pFresh: number;
  /** The bandit multiplier that was applied to p (1 when none). */
  multiplier: number;
  /** False when p was forced by a mode or a constraint (unlimited, burst, forced, no credits, caps). */
  eligible: boolean;
  /** 0 or 1. */
  reward: number;
  /** Credits charged (0 for library). */
  charged: number;
  /** The policy's bound on p (1 when absent). */
  pMax?: number;
};

export type Estimate = { value: number; low: number; high: number; standardError: number };
export type PairEstimate = { reward: Estimate; spend: Estimate };

export type OpeResult = {
  policy: string;
  decisions: number;
  /** Decisions whose logged arm had probability 0 while the candidate's was positive (weight 0). */
  unidentifiable: number;
  effectiveSampleSize: number;
  maxWeight: number;
  /** On-policy means of the log. */
  logged: { reward: number; spend: number };
  ips: PairEstimate;
  snips: PairEstimate;
  dr: PairEstimate;
  /** IPS minus the log's own mean, with a paired interval: (1/n) Σ (w − 1)·r. */
  versusLogged: PairEstimate;
  /** Σ w·r / Σ w·c: reward per credit (null when the candidate spends nothing on this log). */
  rewardPerCredit: Estimate | null;
  /** Σ w·(r − q̂(x,library)) / Σ w·c: what a credit bought over the library frame (null likewise). */
  liftPerCredit: Estimate | null;
};

export type CandidatePolicy = { name: string; pFresh(decision: LoggedDecision): number };

/**
 * A logged probability below this counts as 0: a weight past 1/propensityMin (a million) would
 * let one decision outweigh a day's log, and its square overflow the sums. Real logs have p ≥ ~1e-4.
 */
export const propensityMin = 1e-6;
/** Pseudo-decisions that shrink a segment's mean towards its arm's mean in the direct model. */
const directModelPriorDecisions = 10;
/**
 * Segments one evaluation tracks. Segments are tier × genre × mood after the server normalises
 * genre and mood to its known groups (a few hundred at most); a log with more is not a log of
 * this server.
 */
export const segmentsMax = 100_000;
/** Thompson's share of leaning fresh is estimated from this many posterior draws per segment. */
const thompsonDraws = 4_000;

const clamp = (value: number, low: number, high: number) => (value < low ? low : value > high ? high : value);

function check(decision: LoggedDecision, index: number): void {
  const problem =
    !(decision.pFresh >= 0 && decision.pFresh <= 1) ? `pFresh ${decision.pFresh} is not in [0, 1]`
    : !(decision.multiplier > 0 && Number.isFinite(decision.multiplier)) ? `multiplier ${decision.multiplier} is not positive`
    : !(decision.reward >= 0 && decision.reward <= 1) ? `reward ${decision.reward} is not in [0, 1]`
    : !(decision.charged >= 0 && Number.isFinite(decision.charged)) ? `charged ${decision.charged} is not a credit count`
    : decision.pMax !== undefined && !(decision.pMax > 0 && decision.pMax <= 1) ? `pMax ${decision.pMax} is not in (0, 1]`
    : decision.arm !== 'fresh' && decision.arm !== 'library' ? `arm ${String(decision.arm)} is neither fresh nor library`
    : null;
  if (problem !== null) throw new RangeError(`logged decision ${index}: ${problem}`);
}

function segmentOf<Value>(map: Map<string, Value>, segment: string, make: () => Value): Value {
  let value = map.get(segment);
  if (value === undefined) {
    if (map.size >= segmentsMax) throw new RangeError(`the log has more than ${segmentsMax} segments`);
    value = make();
    map.set(segment, value);
  }
  return value;
}

/** Pulls and rewards per segment and arm: what the bandit would have learned from this log. */
export function segmentStatsOf(decisions: readonly LoggedDecision[]): Map<string, SegmentStats> {
  const stats = new Map<string, SegmentStats>();
  for (const decision of decisions) {
    const arm = segmentOf(stats, decision.segment, emptySegment)[decision.arm];
    arm.pulls += 1;
    arm.rewards += decision.reward;
  }
  return stats;
}

/** The direct model: smoothed mean reward and charge per segment and arm. */
type Cell = { decisions: number; reward: number; charged: number };
type Prediction = Record<Arm, { reward: number; charged: number }>;
type DirectModel = Map<string, Prediction>;

function directModelOf(decisions: readonly LoggedDecision[]): DirectModel {
  const emptyCells = (): Record<Arm, Cell> => ({ fresh: { decisions: 0, reward: 0, charged: 0 }, library: { decisions: 0, reward: 0, charged: 0 } });
  const cells = new Map<string, Record<Arm, Cell>>();
  const totals = emptyCells();
  for (const decision of decisions) {
    for (const cell of [segmentOf(cells, decision.segment, emptyCells)[decision.arm], totals[decision.arm]]) {
      cell.decisions += 1;
      cell.reward += decision.reward;
      cell.charged += decision.charged;
    }
  }
  const armMean = (arm: Arm, key: 'reward' | 'charged') => (totals[arm].decisions === 0 ? 0 : totals[arm][key] / totals[arm].decisions);
  const smoothed = (cell: Cell, arm: Arm, key: 'reward' | 'charged') =>
    (cell[key] + directModelPriorDecisions * armMean(arm, key)) / (cell.decisions + directModelPriorDecisions);
  const model: DirectModel = new Map();
  for (const [segment, segmentCells] of cells) {
    model.set(segment, {
      fresh: { reward: smoothed(segmentCells.fresh, 'fresh', 'reward'), charged: smoothed(segmentCells.fresh, 'fresh', 'charged') },
      library: { reward: smoothed(segmentCells.library, 'library', 'reward'), charged: smoothed(segmentCells.library, 'library', 'charged') },
    });
  }
  return model;
}

/**
 * One estimator's per-decision terms, summarised as they come: the plain sum (the mean is sum / n,
 * exactly what the log's own mean is) and Welford's running squared deviations (no cancellation).
 */
type Sums = { count: number; sum: number; runningMean: number; squaredDeviations: number };
const emptySums = (): Sums => ({ count: 0, sum: 0, runningMean: 0, squaredDeviations: 0 });
const add = (sums: Sums, value: number) => {
  sums.count += 1;
  sums.sum += value;
  const before = value - sums.runningMean;
  sums.runningMean += before / sums.count;
  sums.squaredDeviations += before * (value - sums.runningMean);
};

function interval(value: number, standardError: number, z: number): Estimate {
  return { value, low: value - z * standardError, high: value + z * standardError, standardError };
}

/** The mean of the terms and its standard error (sample sd / √n; no spread to measure when n = 1). */
function meanEstimate(sums: Sums, z: number): Estimate {
  const n = sums.count;
  const variance = n < 2 ? 0 : Math.max(0, sums.squaredDeviations / (n - 1));
  return interval(sums.sum / n, Math.sqrt(variance / n), z);
}

/**
 * A ratio Σ w·y / Σ w·u with its delta-method interval: SE² = Σ w²(y − V·u)² / (Σ w·u)², from
 * sums kept while scanning (Σ w²y², Σ w²yu, Σ w²u²), so the log is read once.
 */
type RatioSums = { numerator: number; denominator: number; yy: number; yu: number; uu: number };
const emptyRatio = (): RatioSums => ({ numerator: 0, denominator: 0, yy: 0, yu: 0, uu: 0 });
function addRatio(sums: RatioSums, weight: number, y: number, u: number): void {
  sums.numerator += weight * y;
  sums.denominator += weight * u;
  const weightSquared = weight * weight;
  sums.yy += weightSquared * y * y;
  sums.yu += weightSquared * y * u;
  sums.uu += weightSquared * u * u;
}
function ratioEstimate(sums: RatioSums, z: number): Estimate | null {
  if (!(sums.denominator > 0)) return null;
  const value = sums.numerator / sums.denominator;
  const spread = Math.max(0, sums.yy - 2 * value * sums.yu + value * value * sums.uu);
  return interval(value, Math.sqrt(spread) / sums.denominator, z);
}

/** (Σw)² / Σw², at most n; when every weight is so small that its square underflows, 1 (or 0 for none). */
function effectiveSampleSizeOf(weightSum: number, weightSquares: number, n: number): number {
  if (!(weightSquares > 0)) return weightSum > 0 ? 1 : 0;
  return Math.min(n, (weightSum * weightSum) / weightSquares);
}

type Accumulators = {
  weightSum: number;
  weightSquares: number;
  maxWeight: number;
  unidentifiable: number;
  logged: { reward: number; spend: number };
  ips: { reward: Sums; spend: Sums };
  dr: { reward: Sums; spend: Sums };
  versusLogged: { reward: Sums; spend: Sums };
  snips: { reward: RatioSums; spend: RatioSums };
  rewardPerCredit: RatioSums;
  liftPerCredit: RatioSums;
};

function accumulate(decision: LoggedDecision, candidateP: number, predicted: Prediction, into: Accumulators): void {
  const fresh = decision.arm === 'fresh';
  const logging = fresh ? decision.pFresh : 1 - decision.pFresh;
  const target = fresh ? candidateP : 1 - candidateP;
  let weight = 0;
  if (target === logging) weight = target > 0 ? 1 : 0;
  else if (target > 0) {
    if (logging >= propensityMin) weight = target / logging;
    else into.unidentifiable += 1;
  }
  const { reward, charged } = decision;
  const shown = predicted[decision.arm];
  into.weightSum += weight;
  into.weightSquares += weight * weight;
  if (weight > into.maxWeight) into.maxWeight = weight;
  into.logged.reward += reward;
  into.logged.spend += charged;
  add(into.ips.reward, weight * reward);
  add(into.ips.spend, weight * charged);
  add(into.versusLogged.reward, (weight - 1) * reward);
  add(into.versusLogged.spend, (weight - 1) * charged);
  const rewardModel = candidateP * predicted.fresh.reward + (1 - candidateP) * predicted.library.reward;
  const spendModel = candidateP * predicted.fresh.charged + (1 - candidateP) * predicted.library.charged;
  add(into.dr.reward, rewardModel + weight * (reward - shown.reward));
  add(into.dr.spend, spendModel + weight * (charged - shown.charged));
  addRatio(into.snips.reward, weight, reward, 1);
  addRatio(into.snips.spend, weight, charged, 1);
  addRatio(into.rewardPerCredit, weight, reward, charged);
  addRatio(into.liftPerCredit, weight, reward - predicted.library.reward, charged);
}

/**
 * Estimates what `candidate` would have earned and spent on `decisions`. Throws on an empty log,
 * on a malformed decision, and when the candidate gives weight to no logged decision at all (then
 * the log says nothing about it).
 */
export function evaluate(decisions: readonly LoggedDecision[], candidate: CandidatePolicy, options: { z?: number } = {}): OpeResult {
  const n = decisions.length;
  if (n === 0) throw new RangeError('offline evaluation needs at least one logged decision');
  const z = options.z ?? 1.96;
  if (!(z > 0 && Number.isFinite(z))) throw new RangeError(`z ${z} is not a positive number`);
  decisions.forEach(check);
  const model = directModelOf(decisions);
  const into: Accumulators = {
    weightSum: 0, weightSquares: 0, maxWeight: 0, unidentifiable: 0, logged: { reward: 0, spend: 0 },
    ips: { reward: emptySums(), spend: emptySums() }, dr: { reward: emptySums(), spend: emptySums() },
    versusLogged: { reward: emptySums(), spend: emptySums() },
    snips: { reward: emptyRatio(), spend: emptyRatio() }, rewardPerCredit: emptyRatio(), liftPerCredit: emptyRatio(),
  };
  for (let index = 0; index < n; index += 1) {
    const decision = decisions[index]!;
    const candidateP = candidate.pFresh(decision);
    if (!(candidateP >= 0 && candidateP <= 1)) throw new RangeError(`candidate ${candidate.name} gave p ${candidateP} for decision ${index}`);
    accumulate(decision, candidateP, model.get(decision.segment)!, into);
  }
  const snipsReward = ratioEstimate(into.snips.reward, z);
  const snipsSpend = ratioEstimate(into.snips.spend, z);
  if (snipsReward === null || snipsSpend === null) throw new RangeError(`candidate ${candidate.name} takes none of the logged actions: the log cannot evaluate it`);
  return {
    policy: candidate.name,
    decisions: n,
    unidentifiable: into.unidentifiable,
    effectiveSampleSize: effectiveSampleSizeOf(into.weightSum, into.weightSquares, n),
    maxWeight: into.maxWeight,
    logged: { reward: into.logged.reward / n, spend: into.logged.spend / n },
    ips: { reward: meanEstimate(into.ips.reward, z), spend: meanEstimate(into.ips.spend, z) },
    snips: { reward: snipsReward, spend: snipsSpend },
    dr: { reward: meanEstimate(into.dr.reward, z), spend: meanEstimate(into.dr.spend, z) },
    versusLogged: { reward: meanEstimate(into.versusLogged.reward, z), spend: meanEstimate(into.versusLogged.spend, z) },
    rewardPerCredit: ratioEstimate(into.rewardPerCredit, z),
    liftPerCredit: ratioEstimate(into.liftPerCredit, z),
  };
}

export const candidateNames = ['logged', 'controller', 'epsilon-greedy', 'thompson', 'ucb'] as const;
export type CandidateName = (typeof candidateNames)[number];

/** The controller's own p for a logged decision: what was used, without the bandit's multiplier. */
export function controllerP(decision: LoggedDecision): number {
  return clamp(decision.pFresh / decision.multiplier, 0, decision.pMax ?? 1);
}

/** A seeded uniform source (mulberry32), so Thompson's shares are the same on every run. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let mixed = Math.imul(state ^ (state >>> 15), 1 | state);
    mixed = (mixed + Math.imul(mixed ^ (mixed >>> 7), 61 | mixed)) ^ mixed;
    return ((mixed ^ (mixed >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** A segment's own seed: its share then does not depend on the order segments are met in. */
function seedOf(text: string): number {
  let hash = 2_166_136_261;
  for (let index = 0; index < text.length; index += 1) hash = Math.imul(hash ^ text.charCodeAt(index), 16_777_619);
  return hash >>> 0;
}

/**
 * The bandit with `algorithm`, learning its statistics from the log: per segment, the share of
 * decisions on which it would lean fresh (`expectedFreshShare`), and the expected p
 * share·p(1 + nudgeMax) + (1 − share)·p(1 − nudgeMax), each term clamped to pMax; the controller's
 * p where the segment is not warm.
 */
function banditCandidate(algorithm: BanditAlgorithm, decisions: readonly LoggedDecision[], settings: BanditSettings): CandidatePolicy {
  const policySettings: BanditSettings = { ...settings, algorithm };
  const stats = segmentStatsOf(decisions);
  const reference = referenceLift(stats.values(), policySettings);
  const shares = new Map<string, number>();
  for (const [segment, segmentStats] of stats) {
    shares.set(segment, expectedFreshShare(segmentStats, reference, policySettings, seededRandom(seedOf(segment)), thompsonDraws));
  }
  return {
    name: algorithm,
    pFresh(decision) {
      if (!decision.eligible) return decision.pFresh;
      const p = controllerP(decision);
      const share = shares.get(decision.segment) ?? Number.NaN;
      if (Number.isNaN(share)) return p;
      const pMax = decision.pMax ?? 1;
      const up = clamp(p * (1 + policySettings.nudgeMax), 0, pMax);
      const down = clamp(p * (1 - policySettings.nudgeMax), 0, pMax);
      return share * up + (1 - share) * down;
    },
  };
}

/**
 * A named candidate over `decisions`, or null for an unknown name:
 *   logged          pFresh as logged (a sanity check: its IPS is the log's own mean);
 *   controller      the controller alone, pFresh / multiplier on eligible decisions;
 *   epsilon-greedy, thompson, ucb   the bandit with that algorithm and `settings`.
 */
export function candidateNamed(name: string, decisions: readonly LoggedDecision[], settings: BanditSettings = defaultBanditSettings): CandidatePolicy | null {
  switch (name) {
    case 'logged':
      return { name, pFresh: (decision) => decision.pFresh };
    case 'controller':
      return { name, pFresh: (decision) => (decision.eligible ? controllerP(decision) : decision.pFresh) };
    case 'epsilon-greedy':
    case 'thompson':
    case 'ucb':
      return banditCandidate(name, decisions, settings);
    default:
      return null;
  }
}
