/**
 * The titration controller: for one frame, fresh or library, and why. Pure — a function of the
 * budget, the cycle clock, the user's demand and today's counts, the session's memory and one
 * uniform random number — so that the server and the month-long simulator run the same code.
 *
 * Order of business:
 *   1. modes that bypass titration: unlimited (always fresh, never charged) and burst (always
 *      fresh for the time bought);
 *   2. the policy's p (see policies.ts), capped at 50% for high-velocity sessions;
 *   3. hysteresis: the session holds a level and moves it only on a big change or every few
 *      frames (hysteresis.ts); the bandit's multiplier (at most ±15%, bandit/policy.ts) then
 *      scales the held level for this frame, within the same bounds;
 *   4. constraints, which are not preferences and bypass the held level: no credits for even the
 *      cheapest fresh frame, the session cap max(3, ⌊0.25·available⌋) fresh frames, the day's
 *      allowance spent;
 *   5. the decision: the held level dithered (or, for the literal baseline, the last bucket kept
 *      and a Bernoulli draw when it moves);
 *   6. coverage: when the library is too thin for this user and screen (pantry/coverage.ts), the
 *      frame is forced fresh, still within the constraints above, and at most every other frame
 *      in a high-velocity session (its 50% cap).
 */
import { newHold, holdLevel, dither, type Hold, type HysteresisSettings } from './hysteresis.js';
import {
  defaultPace,
  defaultPid,
  defaultSeeds,
  newPolicyMemory,
  pacePolicy,
  pidPolicy,
  quantilePolicy,
  seedsPolicy,
  type Factors,
  type PaceSettings,
  type PidSettings,
  type PolicyInput,
  type PolicyMemory,
  type PolicyName,
  type SeedsSettings,
} from './policies.js';

export type TitrationSettings = {
  pace: PaceSettings;
  pid: PidSettings;
  seeds: SeedsSettings;
  hysteresis: HysteresisSettings;
  /** A session this fast, or a user with this many sessions today, is high-velocity (a DJ set). */
  highVelocity: { frameIntervalMsMax: number; sessionsPerDayMin: number; pMax: number };
  /** Fresh frames per session: at most max(sessionCapMin, ⌊sessionCapShare × available⌋). */
  sessionCapMin: number;
  sessionCapShare: number;
};

export const defaultSettings: TitrationSettings = {
  pace: defaultPace,
  pid: defaultPid,
  seeds: defaultSeeds,
  hysteresis: { deltaP: 0.15, holdFrames: 8 },
  highVelocity: { frameIntervalMsMax: 3_000, sessionsPerDayMin: 100, pMax: 0.5 },
  sessionCapMin: 3,
  sessionCapShare: 0.25,
};

export type TitrationInput = PolicyInput & {
  policy: PolicyName;
  unlimited: boolean;
  /** A burst is running. */
  burst: boolean;
  /** Fresh frames this session has shown. */
  freshShown: number;
  /** The session's recent mean time between frames, or null before its second frame. */
  frameIntervalMs: number | null;
  /** Credits of the cheapest fresh frame. */
  freshCostMin: number;
  /** A uniform draw in [0, 1) (only the literal baseline draws). */
  random: number;
  /** The library fails its coverage guardrails for this user and screen: force fresh if allowed. */
  coverageShort?: boolean;
  /**
   * The bandit's multiplier on p (bandit/policy.ts: 1 ± at most 0.15; 1 when absent). It acts on
   * the held level of this frame, within the policy's bound and the high-velocity cap, and a
   * constraint or mode still overrides it: it can never take p past a bound, a cap, or a constraint.
   */
  nudge?: number;
};

/** Per-session memory, rebuilt from nothing after a reconnect. */
export type SessionPacing = { hold: Hold; memory: PolicyMemory };
export const newSessionPacing = (phase: number): SessionPacing => ({ hold: newHold(phase), memory: newPolicyMemory() });

export const constraints = ['no_credits', 'session_cap', 'allowance_spent'] as const;
export type Constraint = (typeof constraints)[number];

export type Titration = {
  fresh: boolean;
  /** The probability of fresh in force for this frame (0 when a constraint forced library, 1 when coverage forced fresh). */
  p: number;
  policy: PolicyName;
  mode: 'unlimited' | 'burst' | 'titrated' | 'forced';
  highVelocity: boolean;
  constraint: Constraint | null;
  /** The level moved on this frame (it changes at most every `holdFrames` frames otherwise). */
  moved: boolean;
  /** The bandit's multiplier applied to this frame's p (1 without one, or when a mode or constraint set p). */
  nudge: number;
  factors: Factors | null;
  state: SessionPacing;
};

export function sessionCap(available: number, settings: TitrationSettings): number {
  return Math.max(settings.sessionCapMin, Math.floor(available * settings.sessionCapShare));
}

export function isHighVelocity(input: Pick<TitrationInput, 'frameIntervalMs' | 'today'>, settings: TitrationSettings): boolean {
  return (input.frameIntervalMs !== null && input.frameIntervalMs <= settings.highVelocity.frameIntervalMsMax) || input.today.sessions >= settings.highVelocity.sessionsPerDayMin;
}

function policyResult(input: TitrationInput, settings: TitrationSettings, memory: PolicyMemory) {
  switch (input.policy) {
    case 'pace':
      return pacePolicy(input, settings.pace, memory);
    case 'pid':
      return pidPolicy(input, settings.pid, settings.pace, memory);
    case 'quantile':
      return quantilePolicy(input, settings.pace, memory);
    case 'seeds-literal':
      return seedsPolicy(input, settings.seeds, memory);
  }
}

/** The largest p a policy may give: a nudged p never goes past it. */
export function policyPMax(policy: PolicyName, settings: TitrationSettings): number {
  return policy === 'pid' ? settings.pid.pMax : policy === 'seeds-literal' ? 1 : settings.pace.pMax;
}

export function titrate(input: TitrationInput, state: SessionPacing, settings: TitrationSettings = defaultSettings): Titration {
  const highVelocity = isHighVelocity(input, settings);
  if (input.unlimited || input.burst) {
    return { fresh: true, p: 1, policy: input.policy, mode: input.unlimited ? 'unlimited' : 'burst', highVelocity, constraint: null, moved: false, nudge: 1, factors: null, state };
  }
  const result = policyResult(input, settings, state.memory);
  const pMax = highVelocity ? Math.min(settings.highVelocity.pMax, policyPMax(input.policy, settings)) : policyPMax(input.policy, settings);
  const wanted = highVelocity ? Math.min(result.p, settings.highVelocity.pMax) : result.p;
  const level = holdLevel(state.hold, wanted, settings.hysteresis);
  // The bandit's multiplier acts on the held level, frame by frame: a track change takes effect at
  // once, and a change of its lean never moves the level itself. Bounded by the same caps.
  const nudge = input.nudge ?? 1;
  const p = nudge === 1 ? level.level : Math.min(level.level * nudge, pMax);
  const constraint: Constraint | null =
    input.available < input.freshCostMin ? 'no_credits'
    : input.freshShown >= sessionCap(input.available, settings) ? 'session_cap'
    : result.allowanceSpent ? 'allowance_spent'
    : null;
  let fresh = false;
  let hold = level.hold;
  if (constraint !== null) {
    hold.lastFresh = false;
  } else if (input.coverageShort === true && !(highVelocity && state.hold.lastFresh)) {
    hold.lastFresh = true;
    return {
      fresh: true, p: 1, policy: input.policy, mode: 'forced', highVelocity, constraint, moved: level.moved, nudge: 1, factors: result.factors,
      state: { hold, memory: result.memory },
    };
  } else if (input.policy === 'seeds-literal') {
    // The literal design keeps the last bucket until p moves by more than deltaP or N frames pass.
    fresh = level.moved ? input.random < p : state.hold.lastFresh;
    hold.lastFresh = fresh;
  } else {
    const decided = dither(level.hold, p);
    fresh = decided.fresh;
    hold = decided.hold;
  }
  // One literal of one shape: the simulator calls this millions of times a second.
  return {
    fresh, p: constraint === null ? p : 0, policy: input.policy, mode: 'titrated', highVelocity, constraint, moved: level.moved,
    nudge: constraint === null ? nudge : 1, factors: result.factors, state: { hold, memory: result.memory },
  };
}

const percent = (value: number) => `${Math.round(value * 100)}%`;

/** The decision in a few phrases, for the player's tooltip and the journal. */
export function explain(titration: Titration): string[] {
  if (titration.mode === 'unlimited') return ['unlimited plan: always fresh, never charged'];
  if (titration.mode === 'burst') return ['burst mode: always fresh'];
  if (titration.mode === 'forced') return ['the library is too thin for this screen: fresh instead'];
  const factors = titration.factors!;
  const reasons: string[] = [];
  if (titration.policy === 'pace') {
    reasons.push(`today's allowance ${factors.allowance.toFixed(1)} credits, ${Math.max(0, factors.allowanceLeft).toFixed(1)} left over ~${Math.round(factors.framesAhead)} frames`);
  } else {
    reasons.push(`${titration.policy} policy: p ${factors.base.toFixed(3)} at surplus ${factors.surplus.toFixed(1)} credits`);
  }
  if (factors.early > 1.05) reasons.push(`early in the session: ×${factors.early.toFixed(2)}`);
  if (factors.library > 1.05) reasons.push(`thin library for this track: ×${factors.library.toFixed(2)}`);
  if (factors.orientation > 1.05) reasons.push(`few library frames for this screen: ×${factors.orientation.toFixed(2)}`);
  if (factors.conserve < 1) reasons.push('conserve mode: ×0.5');
  if (titration.highVelocity) reasons.push('high-velocity session: fresh capped at 50%');
  if (titration.constraint === 'no_credits') reasons.push('no credits left for a fresh frame');
  if (titration.constraint === 'session_cap') reasons.push('this session reached its cap of fresh frames');
  if (titration.constraint === 'allowance_spent') reasons.push("today's fresh allowance is spent");
  if (titration.constraint === null) reasons.push(`p ${percent(titration.p)}${titration.moved ? '' : ' (held)'}: ${titration.fresh ? 'fresh' : 'library'}`);
  return reasons;
}

/** The factors as a flat record of numbers, for the decision journal. */
export function factorRecord(titration: Titration): Record<string, number> {
  const record: Record<string, number> = { p: titration.p, fresh: titration.fresh ? 1 : 0, highVelocity: titration.highVelocity ? 1 : 0 };
  if (titration.nudge !== 1) record['nudge'] = titration.nudge;
  if (titration.factors !== null) Object.assign(record, titration.factors);
  return record;
}
