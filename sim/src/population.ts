/**
 * The simulated population: archetypes of listening habit turned into one plan per user, and each
 * day of a plan turned into sessions. Everything is drawn from the user's behaviour stream, in an
 * order that never depends on what the controller decided, so every policy meets the same users.
 *
 * Time: billing cycles start at the account's local midnight (server/src/ledger/cycle.ts) and the
 * controller only sees local time (cycle elapsed, fraction of the local day gone), so each user is
 * simulated on their own local clock: local day d of the cycle runs from d to d + 1 elapsed days.
 * The UTC offset is drawn for the record, but nothing the controller sees depends on it.
 *
 * The archetypes (shares of the population; each user jitters the parameters):
 *   casual        30%  plays on ~25% of days, one 5–20 min session, a frame every 15–30 s;
 *   daily         35%  every day, 1–2 sessions, 30–90 min a day (log-normal, CV 0.35), 10–20 s;
 *   weekend       15%  2–4 h on Fri/Sat/Sun, a 10% chance of a short session on other days;
 *   late-starter  10%  first plays on a day in 15..22, then 1–2 h daily;
 *   dj            10%  100–150 sessions a day of 30–90 s each, a frame every ~2 s (a DJ set).
 */
import { defaultModels, modelOfGrade } from '../../server/src/generation/models.js';
import { seedTiers } from '../../server/src/users/directory.js';
import { between, chance, integerBetween, lognormal, streamOf, uniform, weighted, type Stream } from './random.js';

export const archetypes = ['casual', 'daily', 'weekend', 'late-starter', 'dj'] as const;
export type Archetype = (typeof archetypes)[number];

const archetypeShares: ReadonlyArray<readonly [Archetype, number]> = [
  ['casual', 0.3],
  ['daily', 0.35],
  ['weekend', 0.15],
  ['late-starter', 0.1],
  ['dj', 0.1],
];

export const tierNames = ['basic', 'premium'] as const;
export type TierName = (typeof tierNames)[number];

function baseQuotaOf(tier: TierName): number {
  const found = seedTiers.find((candidate) => candidate.name === tier);
  if (found === undefined) throw new Error(`seedTiers has no ${tier} tier`);
  return found.baseQuota;
}

/** The per-user and per-frame rates of the population (shares are probabilities). */
export const populationRates = {
  premiumShare: 0.3,
  /** DJs buy the bigger plan more often. */
  premiumShareDj: 0.6,
  rolloverShare: 0.2,
  conserveShare: 0.05,
  conserveDaysMin: 3,
  conserveDaysMax: 7,
  /** Users on "portrait" screens, where library frames in their orientation are scarce. */
  portraitShare: 0.15,
  /** A frame is followed by a like this often; the next fresh frame is then routed to premium. */
  likeShare: 0.02,
  /** A fresh generation fails (and is refunded: the frame becomes a library frame) this often. */
  generationFailureShare: 0.01,
  utcOffsetHoursMin: -8,
  utcOffsetHoursMax: 9,
} as const;

/** Each session's library fit: 0 (an exact bucket) 70%, 0.5 25%, 1 (nothing fitting) 5%. */
const libraryPenalties: ReadonlyArray<readonly [number, number]> = [
  [0, 0.7],
  [0.5, 0.25],
  [1, 0.05],
];

const dayLengthSeconds = 86_400;
const hourSeconds = 3_600;

export type Habit =
  | { archetype: 'casual'; playShare: number }
  | { archetype: 'daily'; minutesPerDay: number }
  | { archetype: 'weekend'; firstWeekday: number; minutesPerPlayDay: number }
  | { archetype: 'late-starter'; firstDay: number; minutesPerDay: number }
  | { archetype: 'dj'; sessionsPerDay: number };

export type UserPlan = {
  index: number;
  archetype: Archetype;
  tier: TierName;
  baseCredits: number;
  rolloverCredits: number;
  /** What the cycle starts with: base quota plus rollover. */
  budgetCredits: number;
  utcOffsetHours: number;
  /** The user's usual time between frames; each session jitters it by ±10%. */
  frameIntervalSeconds: number;
  /** Conserve is on from this local day (included) to `conserveToDay` (excluded); equal means never. */
  conserveFromDay: number;
  conserveToDay: number;
  orientationScarcity: number;
  habit: Habit;
  /** The behaviour stream just after the plan's draws: clone it for each run over the cycle. */
  behaviour: Stream;
};

export type SessionPlan = {
  startSeconds: number;
  frames: number;
  frameIntervalSeconds: number;
  energy: number;
  libraryPenalty: number;
};

function habitOf(archetype: Archetype, stream: Stream): Habit {
  switch (archetype) {
    case 'casual':
      return { archetype, playShare: between(stream, 0.15, 0.35) };
    case 'daily':
      return { archetype, minutesPerDay: between(stream, 30, 90) };
    case 'weekend':
      return { archetype, firstWeekday: integerBetween(stream, 0, 6), minutesPerPlayDay: between(stream, 120, 240) };
    case 'late-starter':
      return { archetype, firstDay: integerBetween(stream, 15, 22), minutesPerDay: between(stream, 60, 120) };
    case 'dj':
      return { archetype, sessionsPerDay: integerBetween(stream, 100, 150) };
  }
}

function frameIntervalSecondsOf(archetype: Archetype, stream: Stream): number {
  switch (archetype) {
    case 'casual':
      return between(stream, 15, 30);
    case 'dj':
      // Kept under the controller's high-velocity threshold of 3 s even after the ±10% jitter.
      return between(stream, 1.8, 2.5);
    default:
      return between(stream, 10, 20);
  }
}

/** User `index` of the population of `seed`, for a cycle of `days` days. */
export function planOf(seed: number, index: number, days: number): UserPlan {
  const stream = streamOf(seed, index, 'behaviour');
  const archetype = weighted(stream, archetypeShares);
  const premiumShare = archetype === 'dj' ? populationRates.premiumShareDj : populationRates.premiumShare;
  const tier: TierName = chance(stream, premiumShare) ? 'premium' : 'basic';
  const baseCredits = baseQuotaOf(tier);
  const rolloverCredits = chance(stream, populationRates.rolloverShare) ? integerBetween(stream, 0, baseCredits) : 0;
  const utcOffsetHours = integerBetween(stream, populationRates.utcOffsetHoursMin, populationRates.utcOffsetHoursMax);
  const frameIntervalSeconds = frameIntervalSecondsOf(archetype, stream);
  let conserveFromDay = 0;
  let conserveToDay = 0;
  if (chance(stream, populationRates.conserveShare)) {
    const length = Math.min(days, integerBetween(stream, populationRates.conserveDaysMin, populationRates.conserveDaysMax));
    conserveFromDay = integerBetween(stream, 0, days - length);
    conserveToDay = conserveFromDay + length;
  }
  const orientationScarcity = chance(stream, populationRates.portraitShare) ? between(stream, 0.5, 1) : 0;
  const habit = habitOf(archetype, stream);
  return {
    index, archetype, tier, baseCredits, rolloverCredits, budgetCredits: baseCredits + rolloverCredits, utcOffsetHours,
    frameIntervalSeconds, conserveFromDay, conserveToDay, orientationScarcity, habit, behaviour: stream,
  };
}

export function populationOf(seed: number, users: number, days: number): UserPlan[] {
  return Array.from({ length: users }, (_, index) => planOf(seed, index, days));
}

/** `total` split into `count` parts with random shares. */
function split(stream: Stream, total: number, count: number): number[] {
  const weights = Array.from({ length: count }, () => between(stream, 0.5, 1.5));
  const sum = weights.reduce((left, right) => left + right, 0);
  return weights.map((weight) => (total * weight) / sum);
}

const clamp = (value: number, low: number, high: number) => Math.min(high, Math.max(low, value));

/** How long each of the day's sessions lasts, in seconds (an empty list on a day off). */
function sessionDurationsSeconds(habit: Habit, day: number, stream: Stream): number[] {
  switch (habit.archetype) {
    case 'casual':
      return chance(stream, habit.playShare) ? [between(stream, 5, 20) * 60] : [];
    case 'daily': {
      const minutes = clamp(lognormal(stream, habit.minutesPerDay, 0.35), 5, 240);
      return split(stream, minutes * 60, integerBetween(stream, 1, 2));
    }
    case 'weekend': {
      // Weekdays count from Monday = 0, so Friday, Saturday and Sunday are 4, 5 and 6.
      const weekday = (habit.firstWeekday + day) % 7;
      if (weekday >= 4) {
        const minutes = clamp(habit.minutesPerPlayDay * between(stream, 0.8, 1.2), 120, 240);
        return split(stream, minutes * 60, integerBetween(stream, 1, 3));
      }
      return chance(stream, 0.1) ? [between(stream, 10, 30) * 60] : [];
    }
    case 'late-starter': {
      if (day < habit.firstDay) return [];
      const minutes = clamp(lognormal(stream, habit.minutesPerDay, 0.25), 60, 120);
      return split(stream, minutes * 60, integerBetween(stream, 1, 2));
    }
    case 'dj': {
      const count = clamp(habit.sessionsPerDay + integerBetween(stream, -10, 10), 100, 150);
      return Array.from({ length: count }, () => between(stream, 30, 90));
    }
  }
}

/**
 * The day's sessions, one after another from a random start with random gaps, all ending before
 * local midnight (a session never straddles two days, so a day's counts are its sessions').
 */
export function sessionsOfDay(plan: UserPlan, day: number, stream: Stream): SessionPlan[] {
  const durations = sessionDurationsSeconds(plan.habit, day, stream);
  const dj = plan.archetype === 'dj';
  const gapsSeconds = durations.map(() => (dj ? between(stream, 5, 60) : between(stream, 15, 180) * 60));
  const totalSeconds = durations.reduce((sum, value) => sum + value, 0) + gapsSeconds.reduce((sum, value) => sum + value, 0);
  const earliestSeconds = (dj ? 17 : 7) * hourSeconds;
  const latestSeconds = Math.max(0, dayLengthSeconds - hourSeconds - totalSeconds);
  let clockSeconds = latestSeconds <= earliestSeconds ? latestSeconds : between(stream, earliestSeconds, latestSeconds);
  const sessions: SessionPlan[] = [];
  for (let index = 0; index < durations.length; index += 1) {
    const frameIntervalSeconds = plan.frameIntervalSeconds * between(stream, 0.9, 1.1);
    const energy = uniform(stream);
    const libraryPenalty = weighted(stream, libraryPenalties);
    const wanted = Math.max(1, Math.round(durations[index]! / frameIntervalSeconds));
    const frames = Math.max(0, Math.min(wanted, Math.floor((dayLengthSeconds - clockSeconds) / frameIntervalSeconds)));
    if (frames >= 1) sessions.push({ startSeconds: clockSeconds, frames, frameIntervalSeconds, energy, libraryPenalty });
    clockSeconds += frames * frameIntervalSeconds + gapsSeconds[index]!;
  }
  return sessions;
}

/**
 * What a fresh frame costs on the local renderer's price list, chosen as the server chooses: the
 * first model of the routed grade (server/src/generation/fresh.ts).
 */
export const frameCosts = {
  premiumCredits: modelOfGrade(defaultModels.local, 'premium').credits,
  cheapCredits: modelOfGrade(defaultModels.local, 'cheap').credits,
  freshCostMinCredits: Math.min(...defaultModels.local.map((model) => model.credits)),
} as const;
