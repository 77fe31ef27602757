/**
 * The bandit's policy, rewards and rollout switches (pure: no I/O).
 */
import fc from 'fast-check';
import t from 'tap';
import { ErrorCode } from '@titrate/shared';
import {
  banditAlgorithms, betaSample, defaultBanditSettings, emptySegment, expectedFreshShare, nudgeOf, referenceLift, type BanditSettings, type SegmentStats,
} from '../../src/bandit/policy.js';
import { beaconRefusal, defaultRewardRules, rewardOf, segmentOf, type ShownRecord } from '../../src/bandit/reward.js';
import { bucketOf, rolloutModeOf } from '../../src/bandit/rollout.js';
import { defaultSettings, newSessionPacing, titrate, type TitrationInput } from '../../src/titration/controller.js';
import { demandOf, emptyDay } from '../../src/titration/forecast.js';

const stats = (fresh: [number, number], library: [number, number]): SegmentStats => ({
  fresh: { pulls: fresh[0], rewards: fresh[1] },
  library: { pulls: library[0], rewards: library[1] },
});
const seeded = (seed: number) => {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 4_294_967_296;
  };
};
const greedy: BanditSettings = { ...defaultBanditSettings, epsilon: 0 };

t.test('a segment still warming up is left alone', async (t) => {
  for (const algorithm of banditAlgorithms) {
    const nudge = nudgeOf(stats([29, 20], [500, 100]), 0, { ...defaultBanditSettings, algorithm }, seeded(1));
    t.same([nudge.arm, nudge.multiplier], [null, 1], algorithm);
  }
});

t.test('leans fresh where fresh lifts more than the audience-wide lift, library where it lifts less', async (t) => {
  const strong = stats([400, 240], [400, 120]); // lift 0.3
  const weak = stats([400, 130], [400, 120]); // lift 0.025
  const reference = referenceLift([strong, weak], greedy);
  t.ok(reference > 0.1 && reference < 0.2, `reference ${reference}`);
  t.match(nudgeOf(strong, reference, greedy, seeded(2)), { arm: 'fresh', multiplier: 1.15, explored: false });
  t.match(nudgeOf(weak, reference, greedy, seeded(2)), { arm: 'library', multiplier: 0.85, explored: false });
});

t.test('epsilon-greedy explores about ε of the time, in both directions', async (t) => {
  const random = seeded(3);
  let explored = 0;
  let library = 0;
  for (let draw = 0; draw < 20_000; draw += 1) {
    const nudge = nudgeOf(stats([400, 240], [400, 120]), 0, defaultBanditSettings, random);
    if (nudge.explored) explored += 1;
    if (nudge.arm === 'library') library += 1;
  }
  t.ok(Math.abs(explored / 20_000 - 0.05) < 0.01, `explored ${explored}`);
  t.ok(Math.abs(library / 20_000 - 0.025) < 0.008, `library ${library}`);
  t.equal(expectedFreshShare(stats([400, 240], [400, 120]), 0, defaultBanditSettings, random), 0.975);
});

t.test('Thompson sampling leans with the probability that the lift beats the reference', async (t) => {
  const settings: BanditSettings = { ...defaultBanditSettings, algorithm: 'thompson' };
  const random = seeded(4);
  const clear = expectedFreshShare(stats([2_000, 1_200], [2_000, 600]), 0.1, settings, random, 400);
  const even = expectedFreshShare(stats([2_000, 1_000], [2_000, 800]), 0.1, settings, random, 400);
  t.ok(clear > 0.99, `clear ${clear}`);
  t.ok(even > 0.3 && even < 0.7, `a lift equal to the reference is a coin flip: ${even}`);
});

t.test('UCB is optimistic about fresh while its pulls are few', async (t) => {
  const settings: BanditSettings = { ...defaultBanditSettings, algorithm: 'ucb' };
  // Fresh looks a little worse than the reference, but with 30 pulls it gets the benefit of the doubt.
  t.equal(nudgeOf(stats([30, 10], [3_000, 1_000]), 0.05, settings, seeded(5)).arm, 'fresh');
  t.equal(nudgeOf(stats([30_000, 10_000], [30_000, 10_000]), 0.05, settings, seeded(5)).arm, 'library');
});

t.test('Beta draws have the distribution’s mean', async (t) => {
  const random = seeded(6);
  let sum = 0;
  for (let draw = 0; draw < 20_000; draw += 1) sum += betaSample(3, 7, random);
  t.ok(Math.abs(sum / 20_000 - 0.3) < 0.01);
});

t.test('the multiplier is always 1 or 1 ± nudgeMax, whatever the statistics', async () => {
  fc.assert(
    fc.property(
      fc.constantFrom(...banditAlgorithms), fc.nat(5_000), fc.nat(5_000), fc.nat(5_000), fc.nat(5_000), fc.double({ min: -1, max: 1, noNaN: true }), fc.nat(),
      (algorithm, freshPulls, freshRewards, libraryPulls, libraryRewards, reference, seed) => {
        const segment = stats([freshPulls, Math.min(freshPulls, freshRewards)], [libraryPulls, Math.min(libraryPulls, libraryRewards)]);
        const nudge = nudgeOf(segment, reference, { ...defaultBanditSettings, algorithm }, seeded(seed));
        return [1, 1.15, 0.85].includes(nudge.multiplier);
      },
    ),
  );
});

t.test('a nudge never takes p past the policy bound, the high-velocity cap, or a constraint', async () => {
  const input = (overrides: Partial<TitrationInput>): TitrationInput => ({
    policy: 'pace', available: 400, used: 200, lengthDays: 30, elapsedDays: 10.5, dayElapsed: 0.5, demand: demandOf([]), today: emptyDay(),
    framesShown: 0, conserve: false, libraryPenalty: 1, orientationScarcity: 1, unlimited: false, burst: false, freshShown: 0, frameIntervalMs: 15_000,
    freshCostMin: 1, random: 0.5, ...overrides,
  });
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 2_000 }), fc.double({ min: 0.85, max: 1.15, noNaN: true }), fc.integer({ min: 500, max: 30_000 }), fc.nat(40), (available, nudge, interval, freshShown) => {
      const plain = titrate(input({ available, frameIntervalMs: interval, freshShown }), newSessionPacing(0.5));
      const nudged = titrate(input({ available, frameIntervalMs: interval, freshShown, nudge }), newSessionPacing(0.5));
      if (plain.constraint !== null) return nudged.constraint === plain.constraint && nudged.p === 0;
      if (nudged.p > defaultSettings.pace.pMax) return false;
      if (nudged.highVelocity) return nudged.p <= defaultSettings.highVelocity.pMax;
      // The first frame's level is what the policy wants: p × nudge, within the policy's bound.
      return Math.abs(nudged.p - Math.min(plain.p * nudge, defaultSettings.pace.pMax)) < 1e-9;
    }),
  );
});

t.test('a beacon is rewarded when watched long enough or liked, and a skip is not', async (t) => {
  t.equal(rewardOf({ dwellMs: 10_000 }, defaultRewardRules), 1);
  t.equal(rewardOf({ dwellMs: 9_999 }, defaultRewardRules), 0);
  t.equal(rewardOf({ dwellMs: 500, liked: true }, defaultRewardRules), 1);
  t.equal(rewardOf({ dwellMs: 30_000, skipped: true }, defaultRewardRules), 0);
  t.equal(rewardOf({ dwellMs: 3_000 }, { ...defaultRewardRules, dwellMsMin: 2_000 }), 1, 'the threshold is configuration');
});

t.test('unknown, foreign and late beacons are refused with their codes', async (t) => {
  const shown: ShownRecord = { user: 'ann', at: 1_000, segment: 'basic|jazz|calm', source: 'fresh', eligible: true };
  const rules = { dwellMsMin: 10_000, windowMs: 60_000 };
  t.equal(beaconRefusal(null, 'ann', 2_000, rules), ErrorCode.unknownFrame);
  t.equal(beaconRefusal(shown, 'bob', 2_000, rules), ErrorCode.foreignBeacon);
  t.equal(beaconRefusal(shown, 'ann', 61_001, rules), ErrorCode.lateBeacon);
  t.equal(beaconRefusal(shown, 'ann', 61_000, rules), null);
  const stock = { ...shown, stock: { seenId: 'f1', genre: 'jazz', mood: 'calm' } };
  t.equal(beaconRefusal(stock, 'ann', 3_600_000, rules, 86_400_000), null, 'a stock frame may be reported after a long offline spell');
});

t.test('segments are tier × library group, with one "other" per tier', async (t) => {
  t.equal(segmentOf('basic', { genre: 'techno', mood: 'dark' }), 'basic|techno|dark');
  t.equal(segmentOf('basic', null), 'basic|other|other');
});

t.test('rollout: a stable bucket per user; raising the percentage only adds users', async (t) => {
  t.equal(bucketOf('ann'), bucketOf('ann'));
  const rollout = { mode: 'on' as const, tiers: { pro: 'shadow' as const, free: 'off' as const }, percent: 100 };
  t.equal(rolloutModeOf('ann', 'basic', rollout), 'on');
  t.equal(rolloutModeOf('ann', 'pro', rollout), 'shadow');
  t.equal(rolloutModeOf('ann', 'free', rollout), 'off');
  t.equal(rolloutModeOf('ann', 'basic', { ...rollout, percent: 0 }), 'off');
  fc.assert(
    fc.property(fc.string({ minLength: 1, maxLength: 40 }), fc.integer({ min: 0, max: 100 }), fc.integer({ min: 0, max: 100 }), (user, low, high) => {
      const [a, b] = low <= high ? [low, high] : [high, low];
      return rolloutModeOf(user, 'basic', { ...rollout, percent: a }) === 'off' || rolloutModeOf(user, 'basic', { ...rollout, percent: b }) === 'on';
    }),
  );
  let inside = 0;
  for (let user = 0; user < 10_000; user += 1) if (rolloutModeOf(`user-${user}`, 'basic', { ...rollout, percent: 20 }) === 'on') inside += 1;
  t.ok(Math.abs(inside / 10_000 - 0.2) < 0.02, `20% rollout reaches ${inside / 100}% of users`);
});

t.test('an empty segment has no pulls', async (t) => {
  t.same(emptySegment(), stats([0, 0], [0, 0]));
  t.equal(referenceLift([], greedy), 0);
});

t.test('a change of the bandit’s lean alone never moves the held level; it scales this frame’s p at once', async (t) => {
  const input: TitrationInput = {
    policy: 'pace', available: 400, used: 200, lengthDays: 30, elapsedDays: 10.5, dayElapsed: 0.5, demand: demandOf([]), today: emptyDay(),
    framesShown: 40, conserve: false, libraryPenalty: 0, orientationScarcity: 0, unlimited: false, burst: false, freshShown: 0, frameIntervalMs: 15_000,
    freshCostMin: 1, random: 0.5,
  };
  let state = newSessionPacing(0.5);
  const first = titrate({ ...input, nudge: 1 }, state);
  state = first.state;
  for (let frame = 1; frame < defaultSettings.hysteresis.holdFrames; frame += 1) {
    const nudge = frame % 2 === 0 ? 1.15 : 0.85;
    const held = titrate({ ...input, framesShown: 40 + frame, nudge }, state);
    state = held.state;
    t.equal(held.moved, false, `frame ${frame}: the lean did not move the level`);
    t.equal(held.nudge, nudge);
    t.ok(Math.abs(held.p - Math.min(first.p * nudge, 1)) < 1e-12, 'p is the held level times this frame’s multiplier');
  }
});
