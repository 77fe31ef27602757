/**
 * The bandit: per audience segment (tier × genre × mood), is a fresh frame worth more here than
 * elsewhere? Pure — statistics in, a multiplier on the controller's p out — so the server, the
 * simulator and offline evaluation run the same code.
 *
 * Arms are {fresh, library}; a pull is a shown frame whose beacon came back, and its reward is 1
 * when it was watched long enough or liked (bandit/reward.ts). The controller already spends the
 * budget evenly; what it cannot know is *where* freshness is worth it. So the bandit does not ask
 * "is fresh better than library in this segment?" (it nearly always is), but "is fresh's lift
 * over library here above the lift across the whole audience?": the *reference* lift. Segments
 * above it get p × (1 + nudgeMax), those below p × (1 − nudgeMax). Raising p where freshness
 * pays and lowering it where it does not moves credits, at the same spend, to where they buy
 * the most reward; the controller's pace keeps the total on its line (docs/bandit.md).
 *
 * Three ways to pick the direction, behind one interface:
 *   epsilon-greedy  (default) the direction of the estimated lift, a random one with probability ε;
 *   thompson        the direction of a lift drawn from each arm's Beta posterior;
 *   ucb             the direction of the lift with each arm's reward at its upper confidence
 *                   bound for fresh and lower bound for library (optimism about fresh), by UCB1.
 * Until both arms of a segment have `warmupPulls` pulls the bandit does not act (multiplier 1):
 * the controller's own p already tries both arms, so there is no cold-start exploration to buy.
 */

export const arms = ['fresh', 'library'] as const;
export type Arm = (typeof arms)[number];

export type ArmStats = { pulls: number; rewards: number };
export type SegmentStats = Record<Arm, ArmStats>;

export const banditAlgorithms = ['epsilon-greedy', 'thompson', 'ucb'] as const;
export type BanditAlgorithm = (typeof banditAlgorithms)[number];

export type BanditSettings = {
  algorithm: BanditAlgorithm;
  /** ε of epsilon-greedy: how often the direction is drawn at random. */
  epsilon: number;
  /** The largest relative change of p, either way. */
  nudgeMax: number;
  /** Pulls each arm needs in a segment before the bandit acts there. */
  warmupPulls: number;
  /** UCB1's exploration weight c in r̂ ± c·√(ln N / n). */
  ucbExploration: number;
  /** A Beta(α, β) prior on every arm's reward rate. */
  priorAlpha: number;
  priorBeta: number;
};

export const defaultBanditSettings: BanditSettings = {
  algorithm: 'epsilon-greedy',
  epsilon: 0.05,
  nudgeMax: 0.15,
  warmupPulls: 30,
  ucbExploration: 0.5,
  priorAlpha: 1,
  priorBeta: 1,
};

/** What the bandit said for one decision. */
export type Nudge = {
  /** The direction it leans: fresh (p up), library (p down), or null (not acting). */
  arm: Arm | null;
  /** What p is multiplied by: 1, 1 + nudgeMax or 1 − nudgeMax. */
  multiplier: number;
  /** The direction was a random exploration (epsilon-greedy) rather than the estimate's. */
  explored: boolean;
  /** Posterior mean reward of each arm, and fresh's lift over library. */
  estimates: Record<Arm, number>;
  lift: number;
};

export const emptyArm = (): ArmStats => ({ pulls: 0, rewards: 0 });
export const emptySegment = (): SegmentStats => ({ fresh: emptyArm(), library: emptyArm() });

/** The posterior mean reward rate of an arm under the Beta prior. */
export function estimateOf(stats: ArmStats, settings: Pick<BanditSettings, 'priorAlpha' | 'priorBeta'>): number {
  return (stats.rewards + settings.priorAlpha) / (stats.pulls + settings.priorAlpha + settings.priorBeta);
}

/** Fresh's estimated lift over library in a segment. */
export function liftOf(stats: SegmentStats, settings: BanditSettings): number {
  return estimateOf(stats.fresh, settings) - estimateOf(stats.library, settings);
}

/**
 * The audience-wide lift: each segment's lift weighted by its pulls. Segments still warming up
 * count too (their estimates are shrunk towards the prior, and they have few pulls).
 */
export function referenceLift(all: Iterable<SegmentStats>, settings: BanditSettings): number {
  let weighted = 0;
  let weight = 0;
  for (const stats of all) {
    const pulls = stats.fresh.pulls + stats.library.pulls;
    if (pulls === 0) continue;
    weighted += pulls * liftOf(stats, settings);
    weight += pulls;
  }
  return weight === 0 ? 0 : weighted / weight;
}

export function isWarm(stats: SegmentStats, settings: BanditSettings): boolean {
  return stats.fresh.pulls >= settings.warmupPulls && stats.library.pulls >= settings.warmupPulls;
}

/** A draw from Beta(a, b) for a, b ≥ 1, from two Gamma draws (Marsaglia–Tsang), using `random` only. */
export function betaSample(a: number, b: number, random: () => number): number {
  const x = gammaSample(a, random);
  const y = gammaSample(b, random);
  return x + y === 0 ? 0.5 : x / (x + y);
}

function gammaSample(shape: number, random: () => number): number {
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  // Bounded: the acceptance rate is above 95% for shape ≥ 1, so 64 rounds failing is ~never.
  for (let round = 0; round < 64; round += 1) {
    let x: number;
    let v: number;
    do {
      x = standardNormal(random);
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = random();
    if (u < 1 - 0.0331 * x ** 4 || Math.log(Math.max(u, Number.MIN_VALUE)) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
  }
  return d;
}

function standardNormal(random: () => number): number {
  const u = Math.max(random(), Number.MIN_VALUE);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

const neutral = (estimates: Record<Arm, number>): Nudge => ({ arm: null, multiplier: 1, explored: false, estimates, lift: estimates.fresh - estimates.library });

/**
 * The bandit's word on one decision in a segment, given the audience-wide reference lift.
 * `random` is only called by the algorithms that draw (ε-greedy's coin, Thompson's samples).
 */
export function nudgeOf(stats: SegmentStats, reference: number, settings: BanditSettings, random: () => number): Nudge {
  const estimates = { fresh: estimateOf(stats.fresh, settings), library: estimateOf(stats.library, settings) };
  if (settings.nudgeMax <= 0 || !isWarm(stats, settings)) return neutral(estimates);
  const lift = estimates.fresh - estimates.library;
  let arm: Arm;
  let explored = false;
  switch (settings.algorithm) {
    case 'epsilon-greedy':
      if (random() < settings.epsilon) {
        explored = true;
        arm = random() < 0.5 ? 'fresh' : 'library';
      } else arm = lift >= reference ? 'fresh' : 'library';
      break;
    case 'thompson': {
      const fresh = betaSample(stats.fresh.rewards + settings.priorAlpha, stats.fresh.pulls - stats.fresh.rewards + settings.priorBeta, random);
      const library = betaSample(stats.library.rewards + settings.priorAlpha, stats.library.pulls - stats.library.rewards + settings.priorBeta, random);
      arm = fresh - library >= reference ? 'fresh' : 'library';
      break;
    }
    case 'ucb': {
      const total = stats.fresh.pulls + stats.library.pulls;
      const bonus = (pulls: number) => settings.ucbExploration * Math.sqrt(Math.log(total) / pulls);
      const optimistic = estimates.fresh + bonus(stats.fresh.pulls) - (estimates.library - bonus(stats.library.pulls));
      arm = optimistic >= reference ? 'fresh' : 'library';
      break;
    }
  }
  return { arm, multiplier: arm === 'fresh' ? 1 + settings.nudgeMax : 1 - settings.nudgeMax, explored, estimates, lift };
}

/**
 * The expected multiplier of a policy in a segment, without drawing: what offline evaluation uses
 * for a candidate policy. Thompson's probability of leaning fresh is estimated with `draws`
 * samples from a deterministic `random`.
 */
export function expectedFreshShare(stats: SegmentStats, reference: number, settings: BanditSettings, random: () => number, draws = 200): number {
  if (settings.nudgeMax <= 0 || !isWarm(stats, settings)) return Number.NaN;
  const lift = liftOf(stats, settings);
  switch (settings.algorithm) {
    case 'epsilon-greedy':
      return (lift >= reference ? 1 - settings.epsilon : 0) + settings.epsilon / 2;
    case 'ucb':
      return nudgeOf(stats, reference, settings, random).arm === 'fresh' ? 1 : 0;
    case 'thompson': {
      let fresh = 0;
      for (let draw = 0; draw < draws; draw += 1) if (nudgeOf(stats, reference, settings, random).arm === 'fresh') fresh += 1;
      return fresh / draws;
    }
  }
}
