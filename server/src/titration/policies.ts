/**
 * Policies: how likely the next frame should be fresh, from the budget, the clock and demand.
 * Each is a pure function of its input and the session's memory; the controller applies the
 * constraints (caps, modes) around it and turns p into a decision. Four behind one interface:
 *
 *   pace            (default) an allowance per active day, spent front-loaded within the day;
 *   pid             a PID loop on the surplus, with the demand forecast as feed-forward;
 *   quantile        aims each user at the median of their own active days, nothing more;
 *   seeds-literal   the first design's formulas exactly as written: the baseline to beat.
 *
 * The derivation of `pace` and the numbers behind its constants are in docs/titration.md.
 *
 * Notation: B the cycle's budget (available + used this cycle), R what is available, L the
 * cycle's length and T the days left (fractional), planRate = B / L the even-burn rate, and the
 * surplus S = R − planRate·T: how far the user is above (+) or below (−) the even-burn line.
 */
import type { Demand, DayCounts } from './forecast.js';

export const policyNames = ['pace', 'pid', 'quantile', 'seeds-literal'] as const;
export type PolicyName = (typeof policyNames)[number];

export type PolicyInput = {
  available: number;
  used: number;
  lengthDays: number;
  elapsedDays: number;
  dayElapsed: number;
  demand: Demand;
  today: DayCounts;
  framesShown: number;
  conserve: boolean;
  /** 0 (an exact, plentiful library bucket) .. 1 (nothing fitting in the library). */
  libraryPenalty: number;
  /** 0 (plenty of library frames in the screen's orientation) .. 1 (none). */
  orientationScarcity: number;
};

/** Per-session memory of a policy (only `pid` uses it). */
export type PolicyMemory = { integral: number; lastSurplusDays: number; lastElapsedDays: number };
export const newPolicyMemory = (): PolicyMemory => ({ integral: 0, lastSurplusDays: Number.NaN, lastElapsedDays: Number.NaN });

/**
 * Each factor's contribution to the decision, for the journal and the player's explanation.
 * Numbers only: the text is rendered when (and only when) someone reads it.
 */
export type Factors = {
  /** The policy's p before the shared multipliers. */
  base: number;
  /** Credits per day on the even-burn line, and the surplus over it (credits). */
  planRate: number;
  surplus: number;
  /** `pace`: today's allowance and what is left of it; `quantile`: the daily target. */
  allowance: number;
  allowanceLeft: number;
  /** Frames the policy expects the rest of today to bring. */
  framesAhead: number;
  early: number;
  library: number;
  orientation: number;
  conserve: number;
};

export type PolicyResult = { p: number; factors: Factors; memory: PolicyMemory; allowanceSpent: boolean };

export type PaceSettings = {
  /** Days over which a surplus (or deficit) is brought back to the even-burn line. */
  catchUpDays: number;
  /** The share of a typical active day's frames the day's allowance is planned over. */
  frontLoad: number;
  /** However far past a typical day, the rest of the day is assumed to bring this share more. */
  tail: number;
  /** Before the last day, never plan to spend more than (1 − reserve × (d−1)/d) of what is left. */
  reserve: number;
  /** Early-session boost: p × (1 + earlyBoost × exp(−frames / earlyFrames)). */
  earlyBoost: number;
  earlyFrames: number;
  /** Orientation scarcity raises p by up to this share (a crop or fill is a worse frame). */
  orientationBoost: number;
  pMax: number;
};

export type PidSettings = { kp: number; ki: number; kd: number; integralMax: number; pMin: number; pMax: number };
export type SeedsSettings = { k: number; floor: number; ceil: number; decayFrames: number; orientationPenalty: number };

export const defaultPace: PaceSettings = {
  catchUpDays: 5,
  frontLoad: 0.7,
  tail: 0.15,
  reserve: 0.3,
  earlyBoost: 0.5,
  earlyFrames: 20,
  orientationBoost: 0.3,
  pMax: 1,
};
export const defaultPid: PidSettings = { kp: 0.35, ki: 0.05, kd: 0.5, integralMax: 20, pMin: 0.005, pMax: 0.99 };
export const defaultSeeds: SeedsSettings = { k: 0.0022, floor: 0.1, ceil: 0.9, decayFrames: 20, orientationPenalty: 0.7 };

const logistic = (x: number) => 1 / (1 + Math.exp(-x));
const logit = (p: number) => Math.log(p / (1 - p));
const clamp = (value: number, low: number, high: number) => (value < low ? low : value > high ? high : value);

/** The even-burn line: its rate, the days left, and how far above it (+) or below (−) the user is. */
function evenBurn(input: PolicyInput): { planRate: number; daysLeft: number; surplus: number } {
  const planRate = (input.available + input.used) / input.lengthDays;
  const daysLeft = Math.max(input.lengthDays - input.elapsedDays, 1e-6);
  return { planRate, daysLeft, surplus: input.available - planRate * daysLeft };
}

/** The shared contributions of context and mode (`pace`, `pid`, `quantile`). */
function multipliers(input: PolicyInput, settings: PaceSettings) {
  const early = 1 + settings.earlyBoost * Math.exp(-input.framesShown / settings.earlyFrames);
  const library = 0.8 + 0.4 * clamp(input.libraryPenalty, 0, 1);
  const orientation = 1 + settings.orientationBoost * clamp(input.orientationScarcity, 0, 1);
  const conserve = input.conserve ? 0.5 : 1;
  return { early, library, orientation, conserve, boost: early * library * orientation };
}

/**
 * p from a policy's base: the context's multipliers, bounded by `pMax`, then conserve's half. Halved
 * after the bound, so conserve halves p even where the multipliers alone would pass `pMax`.
 */
const boosted = (base: number, shared: ReturnType<typeof multipliers>, pMax: number): number => clamp(base * shared.boost, 0, pMax) * shared.conserve;

/**
 * `pace`: the day's allowance is what keeps the user on the even-burn line (closing any surplus
 * over `catchUpDays`), divided by the share of days they play; within the day it is spread over
 * the frames a typical day of theirs still holds, front-loaded so that a short day still gets its
 * fresh frames. Conserve halves p and forgoes catching up on a surplus (the point is to save).
 */
export function pacePolicy(input: PolicyInput, settings: PaceSettings, memory: PolicyMemory): PolicyResult {
  const { planRate, daysLeft, surplus } = evenBurn(input);
  // The day is planned from its own start, so the allowance holds still while it is spent.
  const startAvailable = input.available + input.today.credits;
  const startDaysLeft = daysLeft + input.dayElapsed;
  const startSurplus = startAvailable - planRate * startDaysLeft;
  const catchUp = (input.conserve ? Math.min(startSurplus, 0) : startSurplus) / Math.min(startDaysLeft, settings.catchUpDays);
  const calendarDaysLeft = Math.max(1, Math.ceil(startDaysLeft - 1e-9));
  const reserveShare = calendarDaysLeft <= 1 ? 0 : settings.reserve * (calendarDaysLeft - 1) / calendarDaysLeft;
  const allowance = Math.max(0, Math.min((planRate + catchUp) / input.demand.activeShare, startAvailable * (1 - reserveShare)));
  const allowanceLeft = allowance - input.today.credits;
  const typical = input.demand.framesPerActiveDay;
  const framesAhead = Math.max(settings.frontLoad * typical - input.today.frames, settings.tail * Math.max(typical, input.today.frames), 1);
  const base = allowanceLeft <= 0 ? 0 : clamp(allowanceLeft / (input.demand.creditsPerFresh * framesAhead), 0, 1);
  const shared = multipliers(input, settings);
  return {
    p: boosted(base, shared, settings.pMax),
    factors: { base, planRate, surplus, allowance, allowanceLeft, framesAhead, early: shared.early, library: shared.library, orientation: shared.orientation, conserve: shared.conserve },
    memory,
    allowanceSpent: allowanceLeft <= 0,
  };
}

/**
 * `pid`: the error is the surplus in days of plan (S / planRate); p = logistic(feed-forward +
 * Kp·e + Ki·∫e + Kd·de/dt), where the feed-forward is the logit of the p that spends the plan
 * rate at the forecast demand. The integral lives in the session's memory.
 */
export function pidPolicy(input: PolicyInput, settings: PidSettings, pace: PaceSettings, memory: PolicyMemory): PolicyResult {
  const { planRate, surplus } = evenBurn(input);
  const error = planRate <= 0 ? 0 : surplus / planRate;
  const dtDays = Number.isNaN(memory.lastElapsedDays) ? 0 : Math.max(0, input.elapsedDays - memory.lastElapsedDays);
  const integral = clamp(memory.integral + error * dtDays, -settings.integralMax, settings.integralMax);
  const derivative = dtDays > 1e-4 && !Number.isNaN(memory.lastSurplusDays) ? clamp((error - memory.lastSurplusDays) / dtDays, -50, 50) : 0;
  const demandCredits = input.demand.activeShare * input.demand.framesPerActiveDay * input.demand.creditsPerFresh;
  const feedForward = clamp(demandCredits <= 0 ? 1 : planRate / demandCredits, settings.pMin, settings.pMax);
  const u = logit(feedForward) + settings.kp * error + settings.ki * integral + settings.kd * derivative;
  const base = input.available <= 0 ? 0 : clamp(logistic(u), settings.pMin, settings.pMax);
  const shared = multipliers(input, pace);
  return {
    p: boosted(base, shared, settings.pMax),
    factors: { base, planRate, surplus, allowance: planRate, allowanceLeft: planRate, framesAhead: input.demand.framesPerActiveDay, early: shared.early, library: shared.library, orientation: shared.orientation, conserve: shared.conserve },
    memory: { integral, lastSurplusDays: error, lastElapsedDays: input.elapsedDays },
    allowanceSpent: false,
  };
}

/**
 * `quantile`: what is left spread over the days left (no catch-up term), per active day, at the
 * median frames of the user's recent active days: a user on a median day burns on pace.
 */
export function quantilePolicy(input: PolicyInput, pace: PaceSettings, memory: PolicyMemory): PolicyResult {
  const { planRate, daysLeft, surplus } = evenBurn(input);
  const target = input.available / Math.max(daysLeft, 1) / input.demand.activeShare;
  const frames = Math.max(1, input.demand.medianActiveDayFrames);
  const base = clamp(target / (input.demand.creditsPerFresh * frames), 0, 1);
  const shared = multipliers(input, pace);
  return {
    p: boosted(base, shared, pace.pMax),
    factors: { base, planRate, surplus, allowance: target, allowanceLeft: target - input.today.credits, framesAhead: frames, early: shared.early, library: shared.library, orientation: shared.orientation, conserve: shared.conserve },
    memory,
    allowanceSpent: false,
  };
}

/**
 * `seeds-literal`, exactly as first written, flaws included: targetDaily = (base + rollover) /
 * daysRemaining (so S = R − B is never positive), p = clamp(logistic(k·S), 0.1, 0.9), then
 * × exp(−frames/20) × conserve 0.5 × library health × 0.7 when the orientation is scarce.
 */
export function seedsPolicy(input: PolicyInput, settings: SeedsSettings, memory: PolicyMemory): PolicyResult {
  const budget = input.available + input.used;
  const daysRemaining = Math.max(input.lengthDays - input.elapsedDays, 1e-6);
  const targetDaily = budget / daysRemaining;
  const surplus = input.available - targetDaily * daysRemaining;
  const base = clamp(logistic(settings.k * surplus), settings.floor, settings.ceil);
  const early = Math.exp(-input.framesShown / settings.decayFrames);
  const library = 0.8 + 0.4 * clamp(input.libraryPenalty, 0, 1);
  const orientation = input.orientationScarcity >= 0.5 ? settings.orientationPenalty : 1;
  const conserve = input.conserve ? 0.5 : 1;
  return {
    p: clamp(base * early * library * orientation * conserve, 0, 1),
    factors: { base, planRate: targetDaily, surplus, allowance: targetDaily, allowanceLeft: targetDaily, framesAhead: 0, early, library, orientation, conserve },
    memory,
    allowanceSpent: false,
  };
}
