/**
 * The bandit experiment: the controller alone against the controller nudged by the bandit
 * (server/src/bandit/policy.ts) on a population whose sessions play segments with hidden
 * preferences (audience.ts), judged by what the credits bought, and a check of offline
 * evaluation (server/src/bandit/ope.ts) against what the simulator knows to be true.
 *
 * Method. Every run uses the default policy (`pace`) on the same population, sessions, segments
 * and reward draws (common random numbers): differences are the bandit's. The bandit's statistics
 * are shared by the whole population, frozen during a day and merged at its end (everyone's day d
 * before anyone's day d + 1), like the server's periodically merged counters: a run's report is
 * the same whatever order users run in, and each run is single-threaded (runs go to worker
 * threads side by side). At each session's start the bandit gives its word for the session's
 * segment against the reference lift of all segments (`nudgeOf`, drawn from the user's `bandit`
 * stream) and the multiplier goes into `titrate` as `nudge` for the session's frames. The log
 * pairs each frame's p with the multiplier built into the held level (`titration.nudge`: the
 * level moves at most every few frames), so p / multiplier is the controller's own p. A
 * sensitivity (`trackSeconds`) changes the segment, and the bandit's word, every track instead.
 *
 * Each shown frame is a pull of the arm shown, with reward = u < P(segment, arm) for the frame's
 * uniform u (audience.ts). Per run:
 *   reward per frame, reward per credit   realised rewards over frames, over credits spent;
 *   lift per credit  Σ over fresh frames of P(fresh) − P(library), over credits: what the credits
 *                    bought over the library frames the same frames would have been, computed
 *                    exactly from the hidden preferences; the bandit is judged by its gain here;
 *   and the simulator's own metrics (metrics.ts) to show the controller's goals still hold.
 *
 * One run (by default ε-greedy) also logs its decisions as the server does (a uniform sample if
 * there are more than `loggedDecisions`), and offline evaluation estimates every candidate from
 * that log; each estimate is compared with the candidate's own run.
 */
import { candidateNamed, candidateNames, evaluate, type CandidateName, type Estimate, type OpeResult } from '../../server/src/bandit/ope.js';
import {
  banditAlgorithms,
  defaultBanditSettings,
  emptySegment,
  nudgeOf,
  referenceLift,
  type BanditAlgorithm,
  type BanditSettings,
  type Nudge,
  type SegmentStats,
} from '../../server/src/bandit/policy.js';
import { defaultSettings, policyPMax, type Titration, type TitrationSettings } from '../../server/src/titration/controller.js';
import { nextSegment, preferencesOf, rewardDraw, segmentCount, tasteOf, type Preferences, type Taste } from './audience.js';
import { appendDecision, emptyDecisionLog, freshPerLoggedPOf, libraryBaselineOf, loggedDecisionsOf, type DecisionLog } from './decisionLog.js';
import { limits } from './limits.js';
import { policyReportOf, type PolicyReport } from './metrics.js';
import { archetypes, populationOf, type Archetype, type UserPlan } from './population.js';
import { streamOf, uniform, type Stream } from './random.js';
import { simulateDayByDay, type FrameObserver, type Outcomes } from './simulation.js';

/**
 * `oracle` is not a bandit: it knows the hidden preferences and leans each segment by its true
 * lift against the true reference, with the same ±nudgeMax. It is the ceiling of the design (what
 * a bandit that had learned everything would gain), not something the server could run.
 */
export const experimentPolicies = ['controller', ...banditAlgorithms, 'oracle'] as const;
export type ExperimentPolicy = (typeof experimentPolicies)[number];
/** What the experiment runs beside the controller unless told otherwise. */
export const defaultExperimentPolicies: readonly ExperimentPolicy[] = banditAlgorithms;

/** The controller's goals (docs/titration.md) that the bandit must leave met. */
export const titrationGoals = { runOutPctMax: 1, runOutBeforeDay25PctMax: 0, utilizationMedianPctMin: 95 } as const;

export type BanditExperimentOptions = {
  users: number;
  days: number;
  seed: number;
  /** The runs beside the controller alone (always run: it is the baseline); the three algorithms by default. */
  algorithms?: readonly ExperimentPolicy[] | undefined;
  bandit?: BanditSettings | undefined;
  settings?: TitrationSettings | undefined;
  /** The run whose decisions are logged for offline evaluation; null for none. */
  loggedBy?: ExperimentPolicy | null | undefined;
  /** Log a uniform sample of about this many decisions (all of them when there are fewer). */
  loggedDecisions?: number | undefined;
  /**
   * A sensitivity, off by default: the segment changes every this many seconds within a session
   * (as it would if the server took the segment from each track's genre and mood), not once per session.
   */
  trackSeconds?: number | null | undefined;
};

/** What one run's frames earned, counted as they are shown. */
export type RunTotals = {
  frames: number;
  freshFrames: number;
  credits: number;
  /** Realised rewards. */
  reward: number;
  /** Σ P(segment, arm shown): the expected reward of the frames as shown. */
  expectedReward: number;
  /** Σ P(segment, library): the expected reward had every frame been a library frame. */
  libraryReward: number;
  /** Segments played (sessions, or tracks with `trackSeconds`) on which the bandit leaned fresh, leaned library, or did not act. */
  sessions: { leanFresh: number; leanLibrary: number; neutral: number };
  /** Credits and expected lift (Σ P(fresh) − P(library) over fresh frames) per archetype. */
  byArchetype: Record<Archetype, { credits: number; lift: number }>;
};

const emptyTotals = (): RunTotals => ({
  frames: 0, freshFrames: 0, credits: 0, reward: 0, expectedReward: 0, libraryReward: 0, sessions: { leanFresh: 0, leanLibrary: 0, neutral: 0 },
  byArchetype: Object.fromEntries(archetypes.map((archetype) => [archetype, { credits: 0, lift: 0 }])) as RunTotals['byArchetype'],
});

/** The bandit's shared statistics: frozen for the day, with the day's pulls waiting to be merged. */
type SharedStatistics = { frozen: SegmentStats[]; reference: number; pending: Float64Array };

/** Per user: what they play, the bandit's and the log's random draws, and the bandit's word now. */
type Listener = {
  taste: Taste;
  bandit: () => number;
  sample: Stream;
  segment: number;
  multiplier: number;
  /** Frames per segment in this session (the whole session unless tracks are simulated). */
  trackFrames: number;
  archetype: RunTotals['byArchetype'][Archetype];
};

export type RunSetup = {
  policy: ExperimentPolicy;
  plans: readonly UserPlan[];
  seed: number;
  days: number;
  bandit: BanditSettings;
  settings: TitrationSettings;
  logShare: number;
  /** A new segment (and a new word from the bandit) every this many seconds of a session; null: one per session. */
  trackSeconds?: number | null | undefined;
};

/** The observer that plays the audience and the bandit around the frame loop. */
function experimentObserver(setup: RunSetup, preferences: Preferences, totals: RunTotals, log: DecisionLog | null): FrameObserver {
  const listeners: Listener[] = setup.plans.map((plan) => {
    const stream = streamOf(setup.seed, plan.index, 'bandit');
    return {
      taste: tasteOf(setup.seed, plan), bandit: () => uniform(stream), sample: streamOf(setup.seed, plan.index, 'sample'), segment: 0, multiplier: 1,
      trackFrames: Number.POSITIVE_INFINITY, archetype: totals.byArchetype[plan.archetype],
    };
  });
  const shared: SharedStatistics = { frozen: Array.from({ length: segmentCount }, emptySegment), reference: 0, pending: new Float64Array(segmentCount * 4) };
  const acting = setup.policy !== 'controller';
  const bandit: BanditSettings = isAlgorithm(setup.policy) ? { ...setup.bandit, algorithm: setup.policy } : setup.bandit;
  const wordOf = (segment: number, random: () => number): Nudge =>
    setup.policy === 'oracle' ? oracleNudge(preferences, segment, shared.reference, bandit) : nudgeOf(shared.frozen[segment]!, shared.reference, bandit, random);
  const policyBound = policyPMax('pace', setup.settings);
  const highVelocityBound = Math.min(policyBound, setup.settings.highVelocity.pMax);
  return {
    dayStarts() {
      shared.reference = setup.policy === 'oracle' ? trueReference(shared.frozen, preferences) : referenceLift(shared.frozen, bandit);
    },
    sessionStarts(row, _day, session) {
      const trackSeconds = setup.trackSeconds ?? null;
      listeners[row]!.trackFrames = trackSeconds === null ? Number.POSITIVE_INFINITY : Math.max(1, Math.round(trackSeconds / session.frameIntervalSeconds));
    },
    frameStarts(row, frame) {
      const listener = listeners[row]!;
      if (frame % listener.trackFrames !== 0) return listener.multiplier;
      listener.segment = nextSegment(listener.taste);
      listener.multiplier = 1;
      if (!acting) return 1;
      const nudge = wordOf(listener.segment, listener.bandit);
      listener.multiplier = nudge.multiplier;
      if (nudge.arm === 'fresh') totals.sessions.leanFresh += 1;
      else if (nudge.arm === 'library') totals.sessions.leanLibrary += 1;
      else totals.sessions.neutral += 1;
      return nudge.multiplier;
    },
    frameShown(row, titration, charged) {
      const listener = listeners[row]!;
      const segment = listener.segment;
      const fresh = charged > 0;
      const freshReward = preferences.fresh[segment]!;
      const libraryReward = preferences.library[segment]!;
      const reward = rewardDraw(listener.taste) < (fresh ? freshReward : libraryReward) ? 1 : 0;
      const cell = segment * 4 + (fresh ? 0 : 2);
      shared.pending[cell] = shared.pending[cell]! + 1;
      shared.pending[cell + 1] = shared.pending[cell + 1]! + reward;
      totals.frames += 1;
      totals.reward += reward;
      totals.libraryReward += libraryReward;
      totals.expectedReward += fresh ? freshReward : libraryReward;
      if (fresh) {
        totals.freshFrames += 1;
        totals.credits += charged;
        listener.archetype.credits += charged;
        listener.archetype.lift += freshReward - libraryReward;
      }
      if (log !== null && (setup.logShare >= 1 || uniform(listener.sample) < setup.logShare)) logDecision(log, titration, { segment, fresh, reward, charged, libraryReward, policyBound, highVelocityBound });
    },
    dayEnds() {
      mergeDay(shared);
    },
  };
}

/** One decision as the server journals it; the multiplier is the one built into the level in force. */
function logDecision(
  log: DecisionLog,
  titration: Titration,
  shown: { segment: number; fresh: boolean; reward: number; charged: number; libraryReward: number; policyBound: number; highVelocityBound: number },
): void {
  appendDecision(log, {
    segment: shown.segment,
    fresh: shown.fresh,
    pFresh: titration.p,
    multiplier: titration.nudge,
    eligible: titration.mode === 'titrated' && titration.constraint === null,
    reward: shown.reward,
    charged: shown.charged,
    pMax: titration.highVelocity ? shown.highVelocityBound : shown.policyBound,
    libraryReward: shown.libraryReward,
  });
}

const isAlgorithm = (policy: ExperimentPolicy): policy is BanditAlgorithm => (banditAlgorithms as readonly string[]).includes(policy);

/** The true lifts weighted by the pulls so far (equal weights before any): the oracle's reference. */
function trueReference(frozen: readonly SegmentStats[], preferences: Preferences): number {
  let weighted = 0;
  let weight = 0;
  frozen.forEach((stats, segment) => {
    const pulls = stats.fresh.pulls + stats.library.pulls + 1;
    weighted += pulls * (preferences.fresh[segment]! - preferences.library[segment]!);
    weight += pulls;
  });
  return weighted / weight;
}

/** The oracle's word, in `nudgeOf`'s shape: the segment's true lift against the true reference. */
function oracleNudge(preferences: Preferences, segment: number, reference: number, settings: BanditSettings): Nudge {
  const estimates = { fresh: preferences.fresh[segment]!, library: preferences.library[segment]! };
  const lift = estimates.fresh - estimates.library;
  const arm = lift >= reference ? 'fresh' : 'library';
  return { arm, multiplier: arm === 'fresh' ? 1 + settings.nudgeMax : 1 - settings.nudgeMax, explored: false, estimates, lift };
}

/** The end of a day: its pulls join the statistics the next day's decisions read. */
function mergeDay(shared: SharedStatistics): void {
  shared.frozen.forEach((stats, segment) => {
    const at = segment * 4;
    stats.fresh.pulls += shared.pending[at]!;
    stats.fresh.rewards += shared.pending[at + 1]!;
    stats.library.pulls += shared.pending[at + 2]!;
    stats.library.rewards += shared.pending[at + 3]!;
  });
  shared.pending.fill(0);
}

export type RunResult = { policy: ExperimentPolicy; outcomes: Outcomes; totals: RunTotals; log: DecisionLog | null };

/** One run of the experiment, start to end of the cycle. */
export function runExperimentPolicy(setup: RunSetup, logging: boolean): RunResult {
  const preferences = preferencesOf(setup.seed);
  const totals = emptyTotals();
  const log = logging ? emptyDecisionLog() : null;
  const observer = experimentObserver(setup, preferences, totals, log);
  const outcomes = simulateDayByDay(setup.plans, { policy: 'pace', days: setup.days, seed: setup.seed, settings: setup.settings }, observer);
  return { policy: setup.policy, outcomes, totals, log };
}

export type BanditPolicyReport = {
  policy: ExperimentPolicy;
  frames: number;
  freshFrames: number;
  credits: number;
  reward: number;
  rewardPerFrame: number;
  expectedRewardPerFrame: number;
  rewardPerCredit: number;
  /** (expected reward − the same frames' library reward) / credits. */
  liftPerCredit: number;
  /** Lift per credit over the controller alone's, in %. */
  liftPerCreditGainPct: number;
  /** Σ over fresh frames of P(fresh) − P(library): all the credits bought, and its change over the controller alone's in %. */
  lift: number;
  liftGainPct: number;
  /** Per archetype: credits spent, lift per credit, and its gain over the controller alone's in %. */
  byArchetype: Record<Archetype, { credits: number; liftPerCredit: number; liftPerCreditGainPct: number }>;
  /** Shares of sessions on which the bandit leaned fresh / library (0 for the controller). */
  leanFreshPct: number;
  leanLibraryPct: number;
  runOutPct: number | null;
  runOutBeforeDay25Pct: number | null;
  utilizationMedianPct: number | null;
  pacingRmsePct: number | null;
  dailyFreshCvMedian: number | null;
  /** Run-outs and utilisation within the controller's goals. */
  goalsMet: boolean;
  /** Users who spent more than their budget or less than nothing (an invariant: always 0). */
  usersOutsideBudget: number;
  decisions: number;
  computeMs: number;
};

const round = (value: number, decimals = 6) => Math.round(value * 10 ** decimals) / 10 ** decimals;

function goalsMet(report: PolicyReport): boolean {
  return (
    report.runOutPct !== null && report.runOutPct <= titrationGoals.runOutPctMax &&
    report.runOutBeforeDay25Pct !== null && report.runOutBeforeDay25Pct <= titrationGoals.runOutBeforeDay25PctMax &&
    report.utilizationMedianPct !== null && report.utilizationMedianPct >= titrationGoals.utilizationMedianPctMin
  );
}

const gainPct = (value: number, baseline: number) => round(baseline === 0 ? 0 : 100 * (value / baseline - 1), 2);
const perCredit = (entry: { credits: number; lift: number }) => (entry.credits === 0 ? 0 : entry.lift / entry.credits);

function byArchetypeOf(totals: RunTotals, baseline: RunTotals): BanditPolicyReport['byArchetype'] {
  const entries = archetypes.map((archetype) => {
    const own = totals.byArchetype[archetype];
    return [archetype, { credits: own.credits, liftPerCredit: round(perCredit(own)), liftPerCreditGainPct: gainPct(perCredit(own), perCredit(baseline.byArchetype[archetype])) }] as const;
  });
  return Object.fromEntries(entries) as BanditPolicyReport['byArchetype'];
}

const liftPerCreditOf = (totals: RunTotals) => (totals.credits === 0 ? 0 : (totals.expectedReward - totals.libraryReward) / totals.credits);

export function banditPolicyReportOf(plans: readonly UserPlan[], result: RunResult, baseline: RunTotals): BanditPolicyReport {
  const { totals } = result;
  const metrics = policyReportOf(plans, result.outcomes);
  const sessions = totals.sessions.leanFresh + totals.sessions.leanLibrary + totals.sessions.neutral;
  const baselineLift = liftPerCreditOf(baseline);
  return {
    policy: result.policy,
    frames: totals.frames,
    freshFrames: totals.freshFrames,
    credits: totals.credits,
    reward: totals.reward,
    rewardPerFrame: round(totals.reward / Math.max(1, totals.frames)),
    expectedRewardPerFrame: round(totals.expectedReward / Math.max(1, totals.frames)),
    rewardPerCredit: round(totals.credits === 0 ? 0 : totals.reward / totals.credits, 4),
    liftPerCredit: round(liftPerCreditOf(totals)),
    liftPerCreditGainPct: gainPct(liftPerCreditOf(totals), baselineLift),
    lift: round(totals.expectedReward - totals.libraryReward, 2),
    liftGainPct: gainPct(totals.expectedReward - totals.libraryReward, baseline.expectedReward - baseline.libraryReward),
    byArchetype: byArchetypeOf(totals, baseline),
    leanFreshPct: round(sessions === 0 ? 0 : (100 * totals.sessions.leanFresh) / sessions, 2),
    leanLibraryPct: round(sessions === 0 ? 0 : (100 * totals.sessions.leanLibrary) / sessions, 2),
    runOutPct: metrics.runOutPct,
    runOutBeforeDay25Pct: metrics.runOutBeforeDay25Pct,
    utilizationMedianPct: metrics.utilizationMedianPct,
    pacingRmsePct: metrics.pacingRmsePct,
    dailyFreshCvMedian: metrics.dailyFreshCvMedian,
    goalsMet: goalsMet(metrics),
    usersOutsideBudget: plans.filter((plan, row) => !(result.outcomes.spentCredits[row]! >= 0 && result.outcomes.spentCredits[row]! <= plan.budgetCredits)).length,
    decisions: result.outcomes.decisions,
    computeMs: Math.round(result.outcomes.computeMs),
  };
}

/** What a candidate truly did (its own run) and what offline evaluation made of the log. */
export type OpeCheck = {
  candidate: CandidateName;
  /** The run that plays the candidate (the bandit candidates learn from the whole log, their runs online). */
  truthPolicy: ExperimentPolicy;
  truth: {
    rewardPerFrame: number;
    expectedRewardPerFrame: number;
    spendPerFrame: number;
    liftPerFrame: number;
    liftPerCredit: number;
    /** Its run's expected reward per frame minus the logging run's: what `versusLogged` estimates. */
    gainOverLoggedPerFrame: number;
  };
  estimates: OpeResult;
  /** Relative error of each estimator's reward per frame against the true one, in %. */
  rewardErrorPct: { ips: number; snips: number; dr: number };
  /** The estimators' lift per frame (reward − the logged frames' library reward), beside the truth. */
  liftPerFrame: { ips: Estimate; snips: Estimate; dr: Estimate };
};

export type OpeValidation = {
  loggedBy: ExperimentPolicy;
  decisions: number;
  logged: number;
  sampleShare: number;
  /** The logged frames' mean library reward probability: the lift per frame is measured from it. */
  libraryBaseline: number;
  /**
   * Fresh frames shown over Σ logged p, on eligible decisions: 1 if p were exactly each frame's
   * marginal probability of fresh. Dithering with outcome-dependent stops (the day's allowance
   * reached after the k-th fresh frame) and failed generations move it off 1 (docs/bandit.md).
   */
  freshPerLoggedP: number;
  checks: OpeCheck[];
};

const minus = (estimate: Estimate, offset: number): Estimate => ({
  value: round(estimate.value - offset), low: round(estimate.low - offset), high: round(estimate.high - offset), standardError: round(estimate.standardError),
});

const truthPolicyOf = (candidate: CandidateName, loggedBy: ExperimentPolicy): ExperimentPolicy => (candidate === 'logged' ? loggedBy : candidate);

export function opeValidationOf(logging: RunResult, runs: ReadonlyMap<ExperimentPolicy, RunResult>, sampleShare: number, bandit: BanditSettings): OpeValidation {
  const log = logging.log!;
  const decisions = loggedDecisionsOf(log);
  const baseline = libraryBaselineOf(log);
  const checks: OpeCheck[] = [];
  for (const candidate of candidateNames) {
    const truthRun = runs.get(truthPolicyOf(candidate, logging.policy));
    if (truthRun === undefined) continue;
    const estimates = evaluate(decisions, candidateNamed(candidate, decisions, bandit)!);
    const totals = truthRun.totals;
    const loggedTotals = logging.totals;
    const truth = {
      rewardPerFrame: round(totals.reward / totals.frames),
      expectedRewardPerFrame: round(totals.expectedReward / totals.frames),
      spendPerFrame: round(totals.credits / totals.frames),
      liftPerFrame: round((totals.expectedReward - totals.libraryReward) / totals.frames),
      liftPerCredit: round(liftPerCreditOf(totals)),
      gainOverLoggedPerFrame: round(totals.expectedReward / totals.frames - loggedTotals.expectedReward / loggedTotals.frames, 7),
    };
    const errorPct = (estimate: Estimate) => round((100 * (estimate.value - truth.rewardPerFrame)) / truth.rewardPerFrame, 3);
    checks.push({
      candidate, truthPolicy: truthRun.policy, truth, estimates,
      rewardErrorPct: { ips: errorPct(estimates.ips.reward), snips: errorPct(estimates.snips.reward), dr: errorPct(estimates.dr.reward) },
      liftPerFrame: { ips: minus(estimates.ips.reward, baseline), snips: minus(estimates.snips.reward, baseline), dr: minus(estimates.dr.reward, baseline) },
    });
  }
  return {
    loggedBy: logging.policy, decisions: logging.outcomes.decisions, logged: log.length, sampleShare: round(sampleShare), libraryBaseline: round(baseline),
    freshPerLoggedP: round(freshPerLoggedPOf(log), 4), checks,
  };
}

export type BanditExperimentReport = {
  users: number;
  days: number;
  seed: number;
  bandit: BanditSettings;
  /** Seconds per segment within a session, or null for one segment per session. */
  trackSeconds: number | null;
  policies: BanditPolicyReport[];
  ope: OpeValidation | null;
  wallMs: number;
};

/** The share of decisions to log so that about `wanted` of `decisions` are kept. */
export const logShareOf = (decisions: number, wanted: number) => Math.min(1, wanted / Math.max(1, decisions));

export function experimentSetups(options: BanditExperimentOptions, plans: readonly UserPlan[]): RunSetup[] {
  const algorithms = (options.algorithms ?? defaultExperimentPolicies).filter((policy) => policy !== 'controller');
  const policies: ExperimentPolicy[] = ['controller', ...algorithms];
  const bandit = options.bandit ?? defaultBanditSettings;
  const settings = options.settings ?? defaultSettings;
  return policies.map((policy) => ({ policy, plans, seed: options.seed, days: options.days, bandit, settings, logShare: 1, trackSeconds: options.trackSeconds ?? null }));
}

/** The whole experiment on the calling thread (the CLI spreads the runs over worker threads). */
export function runBanditExperiment(options: BanditExperimentOptions): BanditExperimentReport {
  const started = performance.now();
  const plans = populationOf(options.seed, options.users, options.days);
  const setups = experimentSetups(options, plans);
  const runs = new Map<ExperimentPolicy, RunResult>();
  const controller = runExperimentPolicy(setups[0]!, false);
  runs.set('controller', controller);
  const loggedBy = loggedByOf(options, setups);
  // Every run shows the same frames, so the controller's count sizes the sample before the logging run.
  const logShare = logShareOf(controller.outcomes.decisions, options.loggedDecisions ?? limits.loggedDecisionsDefault);
  for (const setup of setups) {
    if (setup.policy === 'controller' && loggedBy !== 'controller') continue;
    runs.set(setup.policy, runExperimentPolicy({ ...setup, logShare }, setup.policy === loggedBy));
  }
  return experimentReportOf(options, plans, runs, loggedBy, logShare, performance.now() - started);
}

/** The logging run: as asked, or ε-greedy when it runs, or none. */
export function loggedByOf(options: BanditExperimentOptions, setups: readonly RunSetup[]): ExperimentPolicy | null {
  if (options.loggedBy !== undefined) return options.loggedBy !== null && setups.some((setup) => setup.policy === options.loggedBy) ? options.loggedBy : null;
  return setups.some((setup) => setup.policy === 'epsilon-greedy') ? 'epsilon-greedy' : null;
}

export function experimentReportOf(
  options: BanditExperimentOptions, plans: readonly UserPlan[], runs: ReadonlyMap<ExperimentPolicy, RunResult>, loggedBy: ExperimentPolicy | null, logShare: number, wallMs: number,
): BanditExperimentReport {
  const bandit = options.bandit ?? defaultBanditSettings;
  const baseline = runs.get('controller')!.totals;
  const logging = loggedBy === null ? undefined : runs.get(loggedBy);
  return {
    users: options.users,
    days: options.days,
    seed: options.seed,
    bandit,
    trackSeconds: options.trackSeconds ?? null,
    policies: [...runs.values()].map((run) => banditPolicyReportOf(plans, run, baseline)),
    ope: logging?.log == null ? null : opeValidationOf(logging, runs, logShare, bandit),
    wallMs: Math.round(wallMs),
  };
}
