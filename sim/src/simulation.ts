/**
 * One policy over a population, frame by frame, through the same pure functions the server calls:
 * `titrate` for the decision, `routeFresh` for the model grade, `demandOf` for the user's habits.
 *
 * Per frame the simulator does what the server does around the controller: it builds the input
 * from the account and today's counts, passes the session's pacing back in, and when the answer is
 * fresh routes it to a model and charges it; a user who cannot afford the routed model gets the
 * cheap one, and one who cannot afford that (or whose generation fails, and is refunded) gets a
 * library frame. At each local midnight the day's counts join the history and demand is
 * re-estimated (the server reads the same history once per day too).
 *
 * Alongside, it prices each frame as if p were 1 (every frame fresh, routed with p = 1): a user's
 * "demand at p = 1" tells whether their budget constrains them at all.
 *
 * Users run one after another (`simulatePolicy`), or day by day across the population
 * (`simulateDayByDay`: everyone's day d before anyone's day d + 1) when something shared between
 * users changes between days, as the bandit experiment's statistics do; the result for a user is
 * the same either way unless an observer makes it differ.
 *
 * The frame loop allocates nothing of its own (the input and route objects are reused and
 * mutated; results go into typed arrays); what `titrate` allocates is its own. Pure apart from the
 * clock that times it.
 */
import { routeFresh, routing, type RouteInput } from '../../server/src/generation/router.js';
import { defaultSettings, newSessionPacing, titrate, type Titration, type TitrationInput, type TitrationSettings } from '../../server/src/titration/controller.js';
import { demandModel, demandOf, emptyDay, type DayCounts, type Demand } from '../../server/src/titration/forecast.js';
import type { PolicyName } from '../../server/src/titration/policies.js';
import { frameCosts, populationRates, sessionsOfDay, type SessionPlan, type UserPlan } from './population.js';
import { chance, streamOf, uniform, type Stream } from './random.js';

const dayLengthSeconds = 86_400;

/** What a run produced per user (row = position in the run's slice of the population). */
export type Outcomes = {
  policy: PolicyName;
  firstUser: number;
  users: number;
  days: number;
  decisions: number;
  computeMs: number;
  frames: Float64Array;
  fresh: Float64Array;
  spentCredits: Float64Array;
  demandAtFullCredits: Float64Array;
  /** When available credits first fell below the cheapest fresh frame (elapsed days), or Infinity. */
  runOutElapsedDays: Float64Array;
  /** users × (days + 1), row-major: credits spent by the end of day d (column 0 is the start). */
  cumulativeSpendCredits: Float64Array;
  /** users × days, row-major. */
  freshByDay: Float64Array;
  framesByDay: Float64Array;
};

export function emptyOutcomes(policy: PolicyName, firstUser: number, users: number, days: number): Outcomes {
  return {
    policy, firstUser, users, days, decisions: 0, computeMs: 0,
    frames: new Float64Array(users), fresh: new Float64Array(users), spentCredits: new Float64Array(users),
    demandAtFullCredits: new Float64Array(users), runOutElapsedDays: new Float64Array(users).fill(Infinity),
    cumulativeSpendCredits: new Float64Array(users * (days + 1)), freshByDay: new Float64Array(users * days), framesByDay: new Float64Array(users * days),
  };
}

/**
 * What the bandit experiment hooks into the frame loop (bandit.ts); the plain simulator has none.
 * Rows are positions in the run's slice of the population.
 */
export type FrameObserver = {
  dayStarts(day: number): void;
  sessionStarts(row: number, day: number, session: SessionPlan): void;
  /** Before frame `frame` of the session is decided: the bandit's multiplier for it (1 for none). */
  frameStarts(row: number, frame: number): number;
  /** A frame was decided and shown: `charged` credits when it was fresh, 0 when library. */
  frameShown(row: number, titration: Titration, charged: number): void;
  dayEnds(day: number): void;
};

/** The state of one policy's run, shared by every user in it (reused objects, not per-user data). */
type Run = { input: TitrationInput; route: RouteInput; settings: TitrationSettings; outcomes: Outcomes; decisions: number; observer: FrameObserver | null };

/** One user's account and counts while their cycle runs. */
type Account = {
  row: number;
  available: number;
  used: number;
  today: DayCounts;
  history: DayCounts[];
  demand: Demand;
  frames: number;
  fresh: number;
  demandAtFullCredits: number;
  behaviour: Stream;
  decision: Stream;
};

const gradeCredits = (grade: 'premium' | 'cheap') => (grade === 'premium' ? frameCosts.premiumCredits : frameCosts.cheapCredits);

/**
 * A fresh decision turned into a charge, as the server would: route, fall back to the cheap model
 * when the routed one is unaffordable, and serve library when even that fails. The credits
 * charged, 0 when none.
 */
function serveFresh(run: Run, account: Account, p: number, framesShown: number, justLiked: boolean, failed: boolean): number {
  run.route.p = p;
  run.route.framesShown = framesShown;
  run.route.justLiked = justLiked;
  let credits = gradeCredits(routeFresh(run.route).grade);
  if (account.available < credits) credits = frameCosts.cheapCredits;
  if (account.available < credits || failed) return 0;
  account.available -= credits;
  account.used += credits;
  account.today.fresh += 1;
  account.today.credits += credits;
  const outcomes = run.outcomes;
  if (account.available < frameCosts.freshCostMinCredits && outcomes.runOutElapsedDays[account.row] === Infinity) {
    outcomes.runOutElapsedDays[account.row] = run.input.elapsedDays;
  }
  return credits;
}

/**
 * What the session's frames would cost with p = 1. The grade at p = 1 changes within a session only
 * at wow moments (its opening frames, the frame after a like), so the router is asked once for a
 * wow frame and once for a plain one instead of on every frame.
 */
function fullDemandCosts(session: SessionPlan): { wowCredits: number; plainCredits: number } {
  const base = { p: 1, justLiked: false, energy: session.energy, strongLibraryMatch: session.libraryPenalty === 0 };
  return {
    wowCredits: gradeCredits(routeFresh({ ...base, framesShown: 0 }).grade),
    plainCredits: gradeCredits(routeFresh({ ...base, framesShown: routing.wowFrames }).grade),
  };
}

function playSession(run: Run, account: Account, session: SessionPlan, day: number): void {
  const { input, observer } = run;
  account.today.sessions += 1;
  if (observer !== null) observer.sessionStarts(account.row, day, session);
  let pacing = newSessionPacing(uniform(account.decision));
  const frameIntervalMs = session.frameIntervalSeconds * 1000;
  input.libraryPenalty = session.libraryPenalty;
  run.route.energy = session.energy;
  run.route.strongLibraryMatch = session.libraryPenalty === 0;
  const { wowCredits, plainCredits } = fullDemandCosts(session);
  let freshShown = 0;
  let likePending = false;
  let likedLastFrame = false;
  let fullCredits = 0;
  for (let frame = 0; frame < session.frames; frame += 1) {
    const dayElapsed = (session.startSeconds + frame * session.frameIntervalSeconds) / dayLengthSeconds;
    input.available = account.available;
    input.used = account.used;
    input.elapsedDays = day + dayElapsed;
    input.dayElapsed = dayElapsed;
    input.framesShown = frame;
    input.freshShown = freshShown;
    input.frameIntervalMs = frame === 0 ? null : frameIntervalMs;
    input.random = uniform(account.decision);
    if (observer !== null) input.nudge = observer.frameStarts(account.row, frame);
    const titration = titrate(input, pacing, run.settings);
    pacing = titration.state;
    run.decisions += 1;
    // Drawn on every frame, whatever was decided, so behaviour is the same under every policy.
    const liked = chance(account.behaviour, populationRates.likeShare);
    const failed = chance(account.behaviour, populationRates.generationFailureShare);
    fullCredits += frame < routing.wowFrames || likedLastFrame ? wowCredits : plainCredits;
    let charged = 0;
    if (titration.fresh) {
      charged = serveFresh(run, account, titration.p, frame, likePending, failed);
      if (charged > 0) freshShown += 1;
      likePending = false;
    }
    if (observer !== null) observer.frameShown(account.row, titration, charged);
    account.today.frames += 1;
    likePending ||= liked;
    likedLastFrame = liked;
  }
  account.demandAtFullCredits += fullCredits;
}

/** Local midnight: record the day, move it into the history and re-estimate demand. */
function endDay(run: Run, account: Account, day: number): void {
  const { outcomes } = run;
  const days = outcomes.days;
  const today = account.today;
  account.frames += today.frames;
  account.fresh += today.fresh;
  outcomes.freshByDay[account.row * days + day] = today.fresh;
  outcomes.framesByDay[account.row * days + day] = today.frames;
  outcomes.cumulativeSpendCredits[account.row * (days + 1) + day + 1] = account.used;
  account.history.push(today);
  if (account.history.length > demandModel.historyDays) account.history.shift();
  account.demand = demandOf(account.history);
  account.today = emptyDay();
}

function startUser(plan: UserPlan, row: number, seed: number): Account {
  return {
    row, available: plan.budgetCredits, used: 0, today: emptyDay(), history: [], demand: demandOf([]), frames: 0, fresh: 0, demandAtFullCredits: 0,
    behaviour: plan.behaviour.clone(), decision: streamOf(seed, plan.index, 'decision'),
  };
}

/** One local day of one user: the input is set from their account, so users may interleave by day. */
function simulateDay(run: Run, plan: UserPlan, account: Account, day: number): void {
  const { input } = run;
  input.demand = account.demand;
  input.today = account.today;
  input.orientationScarcity = plan.orientationScarcity;
  input.conserve = day >= plan.conserveFromDay && day < plan.conserveToDay;
  for (const session of sessionsOfDay(plan, day, account.behaviour)) playSession(run, account, session, day);
  endDay(run, account, day);
}

function finishUser(run: Run, account: Account): void {
  const { outcomes } = run;
  const row = account.row;
  outcomes.spentCredits[row] = account.used;
  outcomes.frames[row] = account.frames;
  outcomes.fresh[row] = account.fresh;
  outcomes.demandAtFullCredits[row] = account.demandAtFullCredits;
}

export type PolicyRunOptions = { policy: PolicyName; days: number; seed: number; settings?: TitrationSettings | undefined };

function newRun(plans: readonly UserPlan[], options: PolicyRunOptions, observer: FrameObserver | null): Run {
  const outcomes = emptyOutcomes(options.policy, plans[0]?.index ?? 0, plans.length, options.days);
  const input: TitrationInput = {
    available: 0, used: 0, lengthDays: options.days, elapsedDays: 0, dayElapsed: 0, demand: demandOf([]), today: emptyDay(),
    framesShown: 0, conserve: false, libraryPenalty: 0, orientationScarcity: 0, policy: options.policy, unlimited: false, burst: false,
    freshShown: 0, frameIntervalMs: null, freshCostMin: frameCosts.freshCostMinCredits, random: 0,
  };
  const route: RouteInput = { p: 0, framesShown: 0, justLiked: false, energy: 0, strongLibraryMatch: false };
  return { input, route, settings: options.settings ?? defaultSettings, outcomes, decisions: 0, observer };
}

/** Runs one policy over `plans` (any slice of a population); rows follow the slice's order. */
export function simulatePolicy(plans: readonly UserPlan[], options: PolicyRunOptions): Outcomes {
  const started = performance.now();
  const run = newRun(plans, options, null);
  plans.forEach((plan, row) => {
    const account = startUser(plan, row, options.seed);
    for (let day = 0; day < options.days; day += 1) simulateDay(run, plan, account, day);
    finishUser(run, account);
  });
  run.outcomes.decisions = run.decisions;
  run.outcomes.computeMs = performance.now() - started;
  return run.outcomes;
}

/**
 * Runs one policy over `plans` day by day: every user's day d before anyone's day d + 1, with the
 * observer told when each day starts and ends. Users within a day run in row order, but a user's
 * day depends only on their own streams and on what the observer fixed at the day's start.
 */
export function simulateDayByDay(plans: readonly UserPlan[], options: PolicyRunOptions, observer: FrameObserver): Outcomes {
  const started = performance.now();
  const run = newRun(plans, options, observer);
  const accounts = plans.map((plan, row) => startUser(plan, row, options.seed));
  for (let day = 0; day < options.days; day += 1) {
    observer.dayStarts(day);
    plans.forEach((plan, row) => simulateDay(run, plan, accounts[row]!, day));
    observer.dayEnds(day);
  }
  for (const account of accounts) finishUser(run, account);
  run.outcomes.decisions = run.decisions;
  run.outcomes.computeMs = performance.now() - started;
  return run.outcomes;
}

/** Copies a slice's outcomes into the whole population's, at the slice's first user. */
export function mergeOutcomes(into: Outcomes, part: Outcomes): void {
  const row = part.firstUser - into.firstUser;
  const days = into.days;
  into.frames.set(part.frames, row);
  into.fresh.set(part.fresh, row);
  into.spentCredits.set(part.spentCredits, row);
  into.demandAtFullCredits.set(part.demandAtFullCredits, row);
  into.runOutElapsedDays.set(part.runOutElapsedDays, row);
  into.cumulativeSpendCredits.set(part.cumulativeSpendCredits, row * (days + 1));
  into.freshByDay.set(part.freshByDay, row * days);
  into.framesByDay.set(part.framesByDay, row * days);
  into.decisions += part.decisions;
  into.computeMs += part.computeMs;
}
