/**
 * Offline policy evaluation (pure: no I/O, milliseconds). Synthetic logs come from a seeded
 * generator with known reward rates per segment and arm, so each candidate's true value on the
 * log's contexts is known exactly: Σ π(fresh)·P(x, fresh) + (1 − π(fresh))·P(x, library), over n.
 */
import fc from 'fast-check';
import t from 'tap';
import { candidateNamed, candidateNames, controllerP, evaluate, seededRandom, segmentStatsOf, type CandidatePolicy, type Estimate, type LoggedDecision } from '../../src/bandit/ope.js';
import { defaultBanditSettings } from '../../src/bandit/policy.js';

/** Reward rates per segment: fresh's lift over library ranges from negative to large. */
const truth: Record<string, { fresh: number; library: number }> = {
  'basic|techno|dark': { fresh: 0.62, library: 0.3 },
  'basic|ambient|calm': { fresh: 0.36, library: 0.4 },
  'premium|jazz|uplifting': { fresh: 0.55, library: 0.45 },
  'premium|rock|energetic': { fresh: 0.7, library: 0.35 },
};
const segments = Object.keys(truth);

/**
 * A log of `n` decisions: the controller's p uniform in 0.05..0.6, a bandit multiplier of 0.85,
 * 1 or 1.15, 10% of decisions forced (ineligible, p 0 or 1), fresh frames charged 1 or 2 credits.
 */
function syntheticLog(n: number, seed: number): LoggedDecision[] {
  const random = seededRandom(seed);
  return Array.from({ length: n }, () => {
    const segment = segments[Math.floor(random() * segments.length)]!;
    const eligible = random() >= 0.1;
    const multiplier = eligible ? [0.85, 1, 1.15][Math.floor(random() * 3)]! : 1;
    const pFresh = eligible ? Math.min(1, (0.05 + 0.55 * random()) * multiplier) : random() < 0.5 ? 0 : 1;
    const arm = random() < pFresh ? 'fresh' : 'library';
    const reward = random() < truth[segment]![arm] ? 1 : 0;
    const charged = arm === 'fresh' ? (random() < 0.3 ? 2 : 1) : 0;
    return { segment, arm, pFresh, multiplier, eligible, reward, charged };
  });
}

/** The candidate's expected reward per decision on the log's contexts, from the known rates. */
function trueReward(log: readonly LoggedDecision[], candidate: CandidatePolicy): number {
  let sum = 0;
  for (const decision of log) {
    const p = candidate.pFresh(decision);
    sum += p * truth[decision.segment]!.fresh + (1 - p) * truth[decision.segment]!.library;
  }
  return sum / log.length;
}

/** The expected credits per decision: fresh frames cost 1.3 credits on average in `syntheticLog`. */
function trueSpend(log: readonly LoggedDecision[], candidate: CandidatePolicy): number {
  return (log.reduce((sum, decision) => sum + candidate.pFresh(decision), 0) * 1.3) / log.length;
}

const covers = (estimate: Estimate, value: number) => estimate.low <= value && value <= estimate.high;

t.test("the logged candidate's IPS is exactly the log's on-policy mean", async (t) => {
  const log = syntheticLog(5_000, 1);
  const result = evaluate(log, candidateNamed('logged', log)!);
  t.equal(result.ips.reward.value, result.logged.reward);
  t.equal(result.ips.spend.value, result.logged.spend);
  t.equal(result.snips.reward.value, result.logged.reward);
  t.equal(result.effectiveSampleSize, log.length, 'every weight is 1');
  t.equal(result.maxWeight, 1);
  t.equal(result.unidentifiable, 0);
  t.equal(result.versusLogged.reward.value, 0, 'and no gain over itself');
});

t.test("the gain over the log is IPS minus the log's mean, with a tighter interval than IPS's own", async (t) => {
  const log = syntheticLog(40_000, 11);
  const result = evaluate(log, candidateNamed('epsilon-greedy', log)!);
  t.ok(Math.abs(result.versusLogged.reward.value - (result.ips.reward.value - result.logged.reward)) < 1e-12);
  t.ok(result.versusLogged.reward.standardError < result.ips.reward.standardError / 3, 'paired: most weights are near 1');
  const controller = candidateNamed('controller', log)!;
  const truthGain = trueReward(log, candidateNamed('epsilon-greedy', log)!) - trueReward(log, controller);
  const versusController = evaluate(log, controller).versusLogged.reward.value;
  t.ok(Math.abs(result.versusLogged.reward.value - versusController - truthGain) < 0.005, 'the difference of two gains estimates the difference of the two policies');
});

t.test('on a synthetic log every estimator lands near the truth of another policy, and its interval covers it', async (t) => {
  const log = syntheticLog(60_000, 7);
  const doubled: CandidatePolicy = { name: 'doubled', pFresh: (decision) => (decision.eligible ? Math.min(1, 2 * controllerP(decision)) : decision.pFresh) };
  const candidates = [candidateNamed('controller', log)!, candidateNamed('epsilon-greedy', log)!, candidateNamed('thompson', log)!, doubled];
  for (const candidate of candidates) {
    const result = evaluate(log, candidate);
    const reward = trueReward(log, candidate);
    const spend = trueSpend(log, candidate);
    for (const estimator of ['ips', 'snips', 'dr'] as const) {
      const estimate = result[estimator];
      t.ok(Math.abs(estimate.reward.value - reward) < 0.01, `${candidate.name} ${estimator}: reward ${estimate.reward.value.toFixed(4)} near ${reward.toFixed(4)}`);
      t.ok(covers(estimate.reward, reward), `${candidate.name} ${estimator}: [${estimate.reward.low.toFixed(4)}, ${estimate.reward.high.toFixed(4)}] covers the true reward`);
      t.ok(covers(estimate.spend, spend), `${candidate.name} ${estimator}: the spend interval covers ${spend.toFixed(4)}`);
    }
  }
});

t.test('a policy that moves fresh frames to where they pay is told apart from one that does not', async (t) => {
  const log = syntheticLog(60_000, 3);
  const lift = (segment: string) => truth[segment]!.fresh - truth[segment]!.library;
  const towards = (sign: 1 | -1): CandidatePolicy => ({
    name: sign > 0 ? 'towards' : 'away',
    pFresh: (decision) => (decision.eligible ? Math.min(1, controllerP(decision) * (1 + sign * Math.sign(lift(decision.segment) - 0.2) * 0.5)) : decision.pFresh),
  });
  const good = evaluate(log, towards(1));
  const bad = evaluate(log, towards(-1));
  t.ok(good.dr.reward.low > bad.dr.reward.high, 'the DR intervals do not overlap');
  t.ok(good.liftPerCredit!.value > bad.liftPerCredit!.value, 'and more lift per credit for the policy that follows the lift');
});

t.test('decisions whose logged arm had no chance are counted as unidentifiable and weigh nothing', async (t) => {
  const base = { segment: 'basic|techno|dark', multiplier: 1, eligible: true, charged: 0 } as const;
  const log: LoggedDecision[] = [
    { ...base, arm: 'library', pFresh: 1, reward: 1 },
    { ...base, arm: 'fresh', pFresh: 0, reward: 1, charged: 1 },
    { ...base, arm: 'library', pFresh: 0.5, reward: 1 },
    { ...base, arm: 'fresh', pFresh: 0.5, reward: 0, charged: 1 },
  ];
  const half: CandidatePolicy = { name: 'half', pFresh: () => 0.5 };
  const result = evaluate(log, half);
  t.equal(result.unidentifiable, 2);
  t.equal(result.ips.reward.value, 0.25, 'only the identifiable reward counts, over all four decisions');
  const library: CandidatePolicy = { name: 'library', pFresh: () => 0 };
  t.equal(evaluate(log, library).unidentifiable, 1, 'a zero-probability action the candidate never takes is not a problem');
});

t.test('bad logs are refused with a clear error', async (t) => {
  t.throws(() => evaluate([], candidateNamed('logged', [])!), /at least one logged decision/);
  const good: LoggedDecision = { segment: 's', arm: 'fresh', pFresh: 0.4, multiplier: 1, eligible: true, reward: 1, charged: 1 };
  t.throws(() => evaluate([good, { ...good, pFresh: 1.2 }], candidateNamed('logged', [])!), /logged decision 1: pFresh 1.2/);
  t.throws(() => evaluate([{ ...good, multiplier: 0 }], candidateNamed('logged', [])!), /multiplier 0/);
  t.throws(() => evaluate([good], { name: 'never-fresh', pFresh: () => 0 }), /takes none of the logged actions/);
  t.throws(() => evaluate([good], { name: 'broken', pFresh: () => Number.NaN }), /gave p NaN/);
});

t.test('every listed candidate name gives a candidate, and an unknown name gives null', async (t) => {
  const log = syntheticLog(2_000, 5);
  for (const name of candidateNames) t.equal(candidateNamed(name, log)?.name, name);
  t.equal(candidateNamed('nonsense', log), null);
});

t.test('candidates undo the logged multiplier on eligible decisions and keep forced ones as logged', async (t) => {
  const log = syntheticLog(3_000, 9);
  const controller = candidateNamed('controller', log)!;
  const nudged: LoggedDecision = { segment: 'basic|techno|dark', arm: 'fresh', pFresh: 0.46, multiplier: 1.15, eligible: true, reward: 1, charged: 1 };
  t.equal(controller.pFresh(nudged), 0.46 / 1.15);
  t.equal(controller.pFresh({ ...nudged, pMax: 0.3 }), 0.3, 'never past the policy bound');
  for (const name of candidateNames) {
    const candidate = candidateNamed(name, log)!;
    t.equal(candidate.pFresh({ ...nudged, eligible: false, pFresh: 0 }), 0, `${name} keeps a forced p`);
  }
  const greedy = candidateNamed('epsilon-greedy', log)!;
  const p = greedy.pFresh({ ...nudged, multiplier: 1, pFresh: 0.4 });
  t.ok(p >= 0.4 * (1 - defaultBanditSettings.nudgeMax) - 1e-12 && p <= 0.4 * (1 + defaultBanditSettings.nudgeMax) + 1e-12, 'the bandit moves p by at most the nudge');
  t.ok(greedy.pFresh({ ...nudged, segment: 'basic|techno|dark', multiplier: 1, pFresh: 0.4 }) > 0.4, 'it leans fresh where the lift is highest');
  t.ok(greedy.pFresh({ ...nudged, segment: 'basic|ambient|calm', multiplier: 1, pFresh: 0.4 }) < 0.4, 'and towards library where fresh does worse');
});

t.test('segment statistics count pulls and rewards per segment and arm', async (t) => {
  const stats = segmentStatsOf([
    { segment: 'a', arm: 'fresh', pFresh: 0.5, multiplier: 1, eligible: true, reward: 1, charged: 1 },
    { segment: 'a', arm: 'fresh', pFresh: 0.5, multiplier: 1, eligible: true, reward: 0, charged: 2 },
    { segment: 'a', arm: 'library', pFresh: 0.5, multiplier: 1, eligible: true, reward: 1, charged: 0 },
    { segment: 'b', arm: 'library', pFresh: 0, multiplier: 1, eligible: false, reward: 0, charged: 0 },
  ]);
  t.same(Object.fromEntries(stats), {
    a: { fresh: { pulls: 2, rewards: 1 }, library: { pulls: 1, rewards: 1 } },
    b: { fresh: { pulls: 0, rewards: 0 }, library: { pulls: 1, rewards: 0 } },
  });
});

const arbitraryDecision: fc.Arbitrary<LoggedDecision> = fc
  .record({
    segment: fc.constantFrom('a', 'b', 'c'),
    fresh: fc.boolean(),
    pFresh: fc.double({ min: 0, max: 1, noNaN: true }),
    multiplier: fc.constantFrom(0.85, 1, 1.15),
    eligible: fc.boolean(),
    reward: fc.constantFrom(0, 1),
    charged: fc.constantFrom(1, 2),
  })
  .map(({ fresh, charged, ...rest }) => ({ ...rest, arm: fresh ? 'fresh' : 'library', charged: fresh ? charged : 0 }));

t.test('for 0/1 rewards SNIPS stays in [0, 1], weights are never negative, and every interval holds its value (property)', async (t) => {
  fc.assert(
    fc.property(fc.array(arbitraryDecision, { minLength: 1, maxLength: 60 }), fc.double({ min: 0, max: 1, noNaN: true }), (log, constant) => {
      const candidate: CandidatePolicy = { name: 'constant', pFresh: () => constant };
      let result;
      try {
        result = evaluate(log, candidate);
      } catch (error) {
        // A candidate that takes none of the logged actions cannot be evaluated; anything else is a bug.
        return error instanceof RangeError && /takes none of the logged actions/.test(error.message);
      }
      const estimates = [result.ips.reward, result.ips.spend, result.snips.reward, result.snips.spend, result.dr.reward, result.dr.spend];
      return (
        result.snips.reward.value >= 0 && result.snips.reward.value <= 1 + 1e-12 &&
        result.maxWeight >= 0 && result.effectiveSampleSize <= log.length + 1e-9 &&
        estimates.every((estimate) => Number.isFinite(estimate.value) && estimate.low <= estimate.value && estimate.value <= estimate.high)
      );
    }),
  );
  t.pass('held for every generated log');
});

t.test("the logged candidate's IPS equals the log's mean on any log whose logged arms were possible (property)", async (t) => {
  const possible = arbitraryDecision.filter((decision) => (decision.arm === 'fresh' ? decision.pFresh > 0 : decision.pFresh < 1));
  fc.assert(
    fc.property(fc.array(possible, { minLength: 1, maxLength: 60 }), (log) => {
      const result = evaluate(log, candidateNamed('logged', log)!);
      return Math.abs(result.ips.reward.value - result.logged.reward) < 1e-12 && result.unidentifiable === 0;
    }),
  );
  t.pass('held for every generated log');
});
