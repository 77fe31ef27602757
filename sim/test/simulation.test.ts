/**
 * The simulator end to end on small populations: a DJ alone makes ~110k decisions a cycle, so
 * 200 users under four policies is ~12 million decisions (a few seconds on two cores), and the
 * determinism checks use smaller runs still.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { policyNames } from '../../server/src/titration/policies.js';
import { chartOf } from '../src/chart.js';
import type { MetricSet, SimulationReport } from '../src/metrics.js';
import { archetypes, populationOf } from '../src/population.js';
import { runSimulation } from '../src/runner.js';
import { simulatePolicy } from '../src/simulation.js';
import { reportText } from '../src/table.js';

/** The report without what the clock decides. */
function timeless(report: SimulationReport): unknown {
  const policies = Object.fromEntries(
    Object.entries(report.policies).map(([name, policy]) => [name, { ...policy, computeMs: 0, decisionsPerSecondPerCore: 0 }]),
  );
  return { ...report, policies, wallMs: 0, decisionsPerSecond: 0, workers: 0 };
}

const percentages = ['runOutPct', 'runOutBeforeDay25Pct', 'utilizationMedianPct', 'freshPctMedianByTier.basic', 'freshPctMedianByTier.premium'];

/** What is wrong with a metric set (nothing, if the list is empty). */
function problemsOf(metrics: MetricSet, where: string, required: boolean): string[] {
  const values: Array<[string, number | null]> = [
    ['runOutPct', metrics.runOutPct],
    ['runOutBeforeDay25Pct', metrics.runOutBeforeDay25Pct],
    ['utilizationMedianPct', metrics.utilizationMedianPct],
    ['pacingRmsePct', metrics.pacingRmsePct],
    ['pacingRmsePctP90', metrics.pacingRmsePctP90],
    ['dailyFreshCvMedian', metrics.dailyFreshCvMedian],
    ['freshPctMedianByTier.basic', metrics.freshPctMedianByTier.basic],
    ['freshPctMedianByTier.premium', metrics.freshPctMedianByTier.premium],
    ['freshPerDayMedian', metrics.freshPerDayMedian],
  ];
  const problems: string[] = [];
  for (const [key, value] of values) {
    if (value === null) {
      if (required) problems.push(`${where}.${key} is null`);
    } else if (!Number.isFinite(value) || value < 0) {
      problems.push(`${where}.${key} is ${value}`);
    } else if (percentages.includes(key) && value > 100) {
      problems.push(`${where}.${key} is ${value}%`);
    }
  }
  if (metrics.constrainedUsers > metrics.users) problems.push(`${where} has more constrained users than users`);
  return problems;
}

t.test('a month of 200 users reports every documented metric, in range, for every policy', async (t) => {
  const report = await runSimulation({ users: 200, days: 30, seed: 11, policies: policyNames });
  t.same(Object.keys(report.policies).sort(), [...policyNames].sort());
  t.equal(report.users, 200);
  t.equal(report.days, 30);
  t.equal(report.seed, 11);
  t.ok(report.decisions > 0 && report.wallMs > 0);
  for (const name of policyNames) {
    const policy = report.policies[name]!;
    t.same(problemsOf(policy, name, true), [], `${name}: every metric is finite and in range`);
    t.ok(policy.pacingRmsePctP90! >= policy.pacingRmsePct!, `${name}: the 90th percentile is at least the median`);
    t.ok(policy.runOutBeforeDay25Pct! <= policy.runOutPct!, `${name}: running out before day 25 is a case of running out`);
    t.equal(policy.decisions, report.policies.pace!.decisions, `${name} decided on exactly as many frames as pace`);
    t.same(Object.keys(policy.byArchetype).sort(), [...archetypes].sort());
    const archetypeProblems = archetypes.flatMap((archetype) => problemsOf(policy.byArchetype[archetype], `${name}.${archetype}`, false));
    t.same(archetypeProblems, [], `${name}: every archetype's metrics are finite and in range (or null for an empty group)`);
    t.ok(archetypes.every((archetype) => policy.curves[archetype].medianPct.length === 31), `${name}: a spend point per archetype and day 0..30`);
    const users = archetypes.reduce((sum, archetype) => sum + policy.byArchetype[archetype].users, 0);
    t.equal(users, 200, `${name}: the archetypes partition the population`);
  }
  t.match(reportText(report), /seeds-literal/);
  t.match(chartOf(report), /^<svg[^>]*>[\s\S]*<\/svg>\n$/);
  const json = JSON.parse(JSON.stringify(report)) as SimulationReport;
  t.same(json, report, 'the report survives JSON unchanged');
});

t.test('the same seed gives the same report, on one thread or several', async (t) => {
  const options = { users: 40, days: 30, seed: 5, policies: ['pace', 'pid'] as const };
  const once = await runSimulation({ ...options, workers: 1 });
  const again = await runSimulation({ ...options, workers: 2 });
  t.same(timeless(again), timeless(once));
});

t.test('a different seed gives a different report', async (t) => {
  const options = { users: 40, days: 30, policies: ['pace'] as const, workers: 1 };
  const first = await runSimulation({ ...options, seed: 5 });
  const second = await runSimulation({ ...options, seed: 6 });
  t.not(JSON.stringify(timeless(first)), JSON.stringify(timeless(second)));
});

t.test('users behave identically under every policy (common random numbers)', async (t) => {
  const plans = populationOf(3, 30, 30);
  const runs = policyNames.map((policy) => simulatePolicy(plans, { policy, days: 30, seed: 3 }));
  const [first, ...others] = runs;
  for (const run of others) {
    t.same([...run.frames], [...first!.frames], `${run.policy}: the same frames per user`);
    t.same([...run.framesByDay], [...first!.framesByDay], `${run.policy}: the same frames per user and day`);
    t.same([...run.demandAtFullCredits], [...first!.demandAtFullCredits], `${run.policy}: the same demand at p = 1`);
  }
  t.not([...runs[0]!.fresh].join(), [...runs[3]!.fresh].join(), 'while the decisions differ');
});

t.test('no user spends more than their budget or less than nothing', async (t) => {
  const plans = populationOf(9, 30, 30);
  const run = simulatePolicy(plans, { policy: 'pid', days: 30, seed: 9 });
  plans.forEach((plan, row) => {
    const spent = run.spentCredits[row]!;
    if (!(spent >= 0 && spent <= plan.budgetCredits)) t.fail(`user ${row} spent ${spent} of ${plan.budgetCredits}`);
    if (run.fresh[row]! > run.frames[row]!) t.fail(`user ${row} has more fresh frames than frames`);
  });
  t.pass('every user stayed within 0..budget');
});

t.test('the command line refuses bad arguments with a message and exit code 2', async (t) => {
  const cli = fileURLToPath(new URL('../src/cli.ts', import.meta.url));
  for (const argv of [['--users', '0'], ['--policies', 'pace,nonsense'], ['--days', 'thirty'], ['--unknown']]) {
    const result = spawnSync(process.execPath, ['--import', 'tsx', cli, ...argv], { encoding: 'utf8', cwd: fileURLToPath(new URL('../..', import.meta.url)) });
    t.equal(result.status, 2, `${argv.join(' ')} exits with 2`);
    t.match(result.stderr, /usage: npm run sim/, `${argv.join(' ')} prints the usage`);
  }
});
