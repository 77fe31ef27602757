/**
 * Demand: how many frames a user watches, learned from their own days, and what the player is
 * told about the pace it can afford.
 *
 * The controller needs to know how many frames a fresh probability will be applied to, or it
 * cannot turn a credit allowance into a probability (the flaw of a fixed floor: p = 0.1 costs a
 * viewer of 300 frames a day ten times what it costs a viewer of 30). Demand is summarised as
 *
 *   activeShare         the share of days the user plays at all (a weekend player: ~0.3);
 *   framesPerActiveDay  frames watched on a day they play;
 *   creditsPerFresh     what one fresh frame costs them on average (premium vs cheap models);
 *
 * each an exponentially weighted mean over the completed days since the user was first seen
 * (recent days weigh more: half-life `halfLifeDays`), shrunk towards a prior worth `priorDays`
 * days, so a new user starts from the prior and a regular one is described by their own habits
 * within a week. Pure: the server reads the day counts from the session-state engine, the
 * simulator keeps them in memory.
 */
import type { Forecast } from '@titrate/shared';

/** What one user did on one local day (all sessions). */
export type DayCounts = { frames: number; fresh: number; credits: number; sessions: number };
export const emptyDay = (): DayCounts => ({ frames: 0, fresh: 0, credits: 0, sessions: 0 });

export type Demand = Readonly<{
  activeShare: number;
  framesPerActiveDay: number;
  /** The median of the frames of recent active days (the quantile policy aims at it). */
  medianActiveDayFrames: number;
  creditsPerFresh: number;
  /** Credits spent per calendar day, recently (the run-out risk compares it with the pace). */
  creditsPerDay: number;
  /** Completed days the estimate rests on. */
  observedDays: number;
}>;

export type DemandPrior = { activeShare: number; framesPerActiveDay: number; creditsPerFresh: number };

export const demandModel = Object.freeze({
  /** Days of history the server keeps and reads per user. */
  historyDays: 28,
  /** A day's weight halves every this many days back. */
  halfLifeDays: 7,
  /** The prior counts as this many observed days (more made casual players look like daily ones for too long). */
  priorDays: 1,
  /** The cost prior counts as this many fresh frames. */
  priorFresh: 5,
} as const);

/**
 * A listener who plays most days for about an hour at a frame every ~15 s. A high active share
 * errs on the safe side: a newcomer who turns out to play daily is not overspent in week one.
 */
export const defaultPrior: Readonly<DemandPrior> = Object.freeze({ activeShare: 0.9, framesPerActiveDay: 240, creditsPerFresh: 1.5 });

/**
 * Demand from completed days, oldest first. Days before the first active one are ignored (the
 * user did not exist for us yet); idle days after it count as idle.
 */
export function demandOf(history: readonly DayCounts[], prior: DemandPrior = defaultPrior): Demand {
  let first = 0;
  while (first < history.length && history[first]!.frames === 0) first += 1;
  // A newcomer's demand is the prior's alone: one shared value, not one per session.
  if (first === history.length && prior === defaultPrior) return (defaultPriorDemand ??= Object.freeze(demandFrom([], 0, prior)));
  return demandFrom(history, first, prior);
}

/** The demand of newcomers under the default prior (frozen, like the prior and the model), made once. */
let defaultPriorDemand: Demand | undefined;

/** `demandOf` over `history` from its first active day, `first`. */
function demandFrom(history: readonly DayCounts[], first: number, prior: DemandPrior): Demand {
  const decay = Math.pow(0.5, 1 / demandModel.halfLifeDays);
  let weight = 1;
  let days = demandModel.priorDays;
  let activeDays = demandModel.priorDays * prior.activeShare;
  let activeFrames = activeDays * prior.framesPerActiveDay;
  let credits = 0;
  let fresh = 0;
  let plainCredits = 0;
  let plainDays = 0;
  const recentActive: number[] = [];
  for (let index = history.length - 1; index >= first; index -= 1) {
    const day = history[index]!;
    days += weight;
    if (day.frames > 0) {
      activeDays += weight;
      activeFrames += weight * day.frames;
      if (recentActive.length < 14) recentActive.push(day.frames);
    }
    credits += weight * day.credits;
    fresh += weight * day.fresh;
    plainCredits += day.credits;
    plainDays += 1;
    weight *= decay;
  }
  const framesPerActiveDay = activeFrames / Math.max(activeDays, 1e-9);
  return {
    activeShare: Math.min(1, Math.max(0.05, activeDays / days)),
    framesPerActiveDay: Math.max(1, framesPerActiveDay),
    medianActiveDayFrames: recentActive.length === 0 ? prior.framesPerActiveDay : median(recentActive),
    creditsPerFresh: (prior.creditsPerFresh * demandModel.priorFresh + credits) / (demandModel.priorFresh + fresh),
    creditsPerDay: plainDays === 0 ? 0 : plainCredits / plainDays,
    observedDays: history.length - first,
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/**
 * What the player shows: fresh frames per day that keep the user on pace to the cycle's end
 * (what is left, spread over the days left, at their own cost per fresh frame, ±15%), and the
 * risk that their habit outruns it: the recent daily spend against the affordable one.
 */
export function paceForecast(input: { available: number; daysLeft: number; creditsPerFresh: number; creditsPerDay: number; unlimited: boolean }): Forecast {
  if (input.unlimited) return { freshPerDayLow: 0, freshPerDayHigh: 0, runOutRisk: 'low' };
  const affordable = input.available / Math.max(1, input.daysLeft);
  const perDay = affordable / Math.max(1, input.creditsPerFresh);
  const pressure = affordable <= 0 ? Infinity : input.creditsPerDay / affordable;
  const runOutRisk = input.available < 1 || pressure > 1.5 ? 'high' : pressure > 1.1 ? 'medium' : 'low';
  return { freshPerDayLow: toTenths(perDay * 0.85), freshPerDayHigh: toTenths(perDay * 1.15), runOutRisk };
}

const toTenths = (value: number): number => Math.round(value * 10) / 10;
