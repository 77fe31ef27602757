/**
 * The bandit experiment end to end: hidden preferences, the controller nudged by each algorithm
 * over a month of 200 users (~2.8 million decisions per run, a few seconds each), and offline
 * evaluation from one run's log checked against another run's simulated truth.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { audienceRates, preferencesOf, segmentCount, segmentNames } from '../src/audience.js';
import { experimentSetups, runBanditExperiment, runExperimentPolicy, titrationGoals, type BanditExperimentReport } from '../src/bandit.js';
import { runBanditExperimentOnWorkers } from '../src/banditRunner.js';
import { populationOf } from '../src/population.js';
import { simulatePolicy } from '../src/simulation.js';
import { banditReportText } from '../src/table.js';

t.test('hidden preferences are deterministic for a seed and stay within their documented ranges', async (t) => {
  const first = preferencesOf(7);
  t.same(preferencesOf(7), first, 'the same seed, the same preferences');
  t.not([...preferencesOf(8).fresh].join(), [...first.fresh].join(), 'another seed, other preferences');
  t.equal(segmentNames.length, segmentCount, 'a name per segment');
  t.equal(new Set(segmentNames).size, segmentCount, 'every segment has its own name');
  for (let segment = 0; segment < segmentCount; segment += 1) {
    const library = first.library[segment]!;
    const lift = first.fresh[segment]! - library;
    if (library < audienceRates.libraryRewardMin || library > audienceRates.libraryRewardMax) t.fail(`${segmentNames[segment]}: library ${library}`);
    if (lift < audienceRates.freshLiftMin - 1e-12 || lift > audienceRates.freshLiftMax + 1e-12) t.fail(`${segmentNames[segment]}: lift ${lift}`);
  }
  const lifts = [...first.fresh].map((fresh, segment) => fresh - first.library[segment]!);
  t.ok(lifts.some((lift) => lift < 0) && lifts.some((lift) => lift > 0.25), 'some segments prefer library, some gain a lot from fresh');
});

t.test('every policy meets the same segments with the same luck, and the controller run is the plain simulator', async (t) => {
  const plans = populationOf(3, 40, 30);
  const setups = experimentSetups({ users: 40, days: 30, seed: 3 }, plans);
  const [controller, greedy] = [runExperimentPolicy(setups[0]!, false), runExperimentPolicy(setups[1]!, false)];
  t.equal(greedy.totals.frames, controller.totals.frames, 'the same frames');
  t.equal(greedy.totals.libraryReward, controller.totals.libraryReward, 'each frame in the same segment (the same library reward, frame by frame summed)');
  t.not(greedy.totals.credits, controller.totals.credits, 'while the bandit changed what was spent where');
  const plain = simulatePolicy(plans, { policy: 'pace', days: 30, seed: 3 });
  t.same([...controller.outcomes.spentCredits], [...plain.spentCredits], 'the controller alone spends exactly as the plain simulator does');
  t.same([...controller.outcomes.freshByDay], [...plain.freshByDay], 'day by day');
});

t.test('a month of 200 users under the controller alone and nudged by each algorithm', async (t) => {
  // Every decision is logged (2.8 million): no sampling between the log and the truth.
  const report = runBanditExperiment({ users: 200, days: 30, seed: 1, loggedDecisions: 3_000_000 });
  t.comment(banditReportText(report));
  const controller = report.policies.find((policy) => policy.policy === 'controller')!;
  const bandits = report.policies.filter((policy) => policy.policy !== 'controller');
  t.same(report.policies.map((policy) => policy.policy), ['controller', 'epsilon-greedy', 'thompson', 'ucb'], 'the controller alone and each algorithm');

  t.test('the nudged runs never spend past a budget or below zero, and leave run-outs and utilisation on their goals', async (t) => {
    for (const policy of report.policies) {
      t.equal(policy.usersOutsideBudget, 0, `${policy.policy}: every user within 0..budget`);
      t.ok(policy.goalsMet, `${policy.policy}: run-outs ${policy.runOutPct}% (≤ ${titrationGoals.runOutPctMax}), before day 25 ${policy.runOutBeforeDay25Pct}%, used ${policy.utilizationMedianPct}% (≥ ${titrationGoals.utilizationMedianPctMin})`);
      t.ok(Math.abs(policy.credits - controller.credits) / controller.credits < 0.02, `${policy.policy}: spends within 2% of the controller alone (${policy.credits} vs ${controller.credits})`);
    }
  });

  t.test("the bandit raises lift per credit over the controller alone (about 3%, near the ±15% design's ceiling)", async (t) => {
    for (const policy of bandits) {
      t.comment(`${policy.policy}: lift per credit ${policy.liftPerCredit} vs ${controller.liftPerCredit}: ${policy.liftPerCreditGainPct}%`);
      t.ok(policy.liftPerCreditGainPct >= (policy.policy === 'ucb' ? 1 : 2), `${policy.policy} gains ${policy.liftPerCreditGainPct}%`);
      t.ok(policy.byArchetype.dj.liftPerCreditGainPct > policy.byArchetype.daily.liftPerCreditGainPct, `${policy.policy}: most where users play many segments a day (DJs)`);
    }
  });

  t.test("offline evaluation from the ε-greedy run's log estimates the controller alone within ±10% of its simulated reward", async (t) => {
    const ope = report.ope!;
    t.equal(ope.loggedBy, 'epsilon-greedy');
    t.equal(ope.logged, ope.decisions, 'every decision is in the log');
    const check = ope.checks.find((candidate) => candidate.candidate === 'controller')!;
    t.equal(check.truthPolicy, 'controller');
    for (const estimator of ['ips', 'snips', 'dr'] as const) {
      const estimate = check.estimates[estimator].reward;
      t.ok(Math.abs(check.rewardErrorPct[estimator]) <= 10, `${estimator}: ${estimate.value.toFixed(5)} [${estimate.low.toFixed(5)}, ${estimate.high.toFixed(5)}] vs ${check.truth.rewardPerFrame}`);
      t.ok(estimate.low <= check.truth.rewardPerFrame && check.truth.rewardPerFrame <= estimate.high, `${estimator}: the interval covers the simulated reward per frame`);
    }
    // Reward per frame is mostly library frames' reward; the lift and the spend are the sharper tests.
    const lift = check.liftPerFrame.dr;
    t.ok(lift.low <= check.truth.liftPerFrame && check.truth.liftPerFrame <= lift.high, `DR lift per frame ${lift.value} [${lift.low}, ${lift.high}] covers ${check.truth.liftPerFrame}`);
    const spend = check.estimates.dr.spend.value;
    t.ok(Math.abs(spend / check.truth.spendPerFrame - 1) < 0.05, `DR credits per frame ${spend.toFixed(5)} within 5% of ${check.truth.spendPerFrame}`);
    const logged = ope.checks.find((candidate) => candidate.candidate === 'logged')!;
    t.ok(Math.abs(logged.rewardErrorPct.ips) < 0.5, 'the logged candidate reproduces its own run');
    t.ok(ope.freshPerLoggedP > 0.97 && ope.freshPerLoggedP < 1.05, `logged p predicts fresh frames to a few % (${ope.freshPerLoggedP})`);
  });
});

t.test('when the segment changes with every track, the bandit has more to move and gains more', async (t) => {
  const options = { users: 200, days: 30, seed: 2, algorithms: ['thompson'] as const, loggedBy: null };
  const perSession = runBanditExperiment(options).policies[1]!;
  const perTrack = runBanditExperiment({ ...options, trackSeconds: 210 }).policies[1]!;
  t.comment(`thompson: ${perSession.liftPerCreditGainPct}% with a segment per session, ${perTrack.liftPerCreditGainPct}% with one per 3.5-minute track`);
  t.ok(perTrack.liftPerCreditGainPct > perSession.liftPerCreditGainPct + 1);
  t.ok(perTrack.goalsMet && perTrack.usersOutsideBudget === 0, 'and the controller still keeps its goals and every budget');
});

t.test('the experiment reports the same on one thread or two', async (t) => {
  const options = { users: 30, days: 30, seed: 5, algorithms: ['thompson'] as const, loggedBy: 'thompson' as const, loggedDecisions: 50_000 };
  const timeless = (report: BanditExperimentReport) => ({ ...report, wallMs: 0, policies: report.policies.map((policy) => ({ ...policy, computeMs: 0 })) });
  const once = await runBanditExperimentOnWorkers({ ...options, workers: 1 });
  const again = await runBanditExperimentOnWorkers({ ...options, workers: 2 });
  t.same(timeless(again), timeless(once));
});

t.test('the command line refuses bad bandit arguments with a message and exit code 2', async (t) => {
  const cli = fileURLToPath(new URL('../src/cli.ts', import.meta.url));
  const cases = [['--bandit', '--policies', 'pace'], ['--bandit', '--algorithms', 'greedy'], ['--bandit', '--nudge-max', '2'], ['--nudge-max', '0.2'], ['--bandit', '--log-policy', 'everyone']];
  for (const argv of cases) {
    const result = spawnSync(process.execPath, ['--import', 'tsx', cli, ...argv], { encoding: 'utf8', cwd: fileURLToPath(new URL('../..', import.meta.url)) });
    t.equal(result.status, 2, `${argv.join(' ')} exits with 2`);
    t.match(result.stderr, /usage: npm run sim/, `${argv.join(' ')} prints the usage`);
  }
});
