/**
 * The report as plain-text tables for a terminal: one row per policy, then one table per policy
 * with a row per archetype; the bandit experiment's report likewise (`banditReportText`). Columns
 * are right-aligned numbers; a missing value (no qualifying users) prints as "–".
 */
import type { Estimate } from '../../server/src/bandit/ope.js';
import type { PolicyName } from '../../server/src/titration/policies.js';
import type { BanditExperimentReport, OpeValidation } from './bandit.js';
import type { MetricSet, SimulationReport } from './metrics.js';
import { archetypes } from './population.js';

type Column = { title: string; value: (metrics: MetricSet) => number | null; decimals: number };

const metricColumns: Column[] = [
  { title: 'run out %', value: (metrics) => metrics.runOutPct, decimals: 1 },
  { title: '<day 25 %', value: (metrics) => metrics.runOutBeforeDay25Pct, decimals: 1 },
  { title: 'used % (med)', value: (metrics) => metrics.utilizationMedianPct, decimals: 1 },
  { title: 'pace RMSE %', value: (metrics) => metrics.pacingRmsePct, decimals: 1 },
  { title: 'p90', value: (metrics) => metrics.pacingRmsePctP90, decimals: 1 },
  { title: 'fresh/day CV', value: (metrics) => metrics.dailyFreshCvMedian, decimals: 2 },
  { title: 'fresh % basic', value: (metrics) => metrics.freshPctMedianByTier.basic, decimals: 1 },
  { title: 'fresh % premium', value: (metrics) => metrics.freshPctMedianByTier.premium, decimals: 1 },
  { title: 'fresh/day', value: (metrics) => metrics.freshPerDayMedian, decimals: 1 },
];

const cell = (value: number | null, decimals: number) => (value === null ? '–' : value.toFixed(decimals));

export function formatTable(headers: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = headers.map((header, column) => Math.max(header.length, ...rows.map((row) => row[column]?.length ?? 0)));
  const line = (cells: readonly string[]) => cells.map((text, column) => (column === 0 ? text.padEnd(widths[column]!) : text.padStart(widths[column]!))).join('  ');
  return [line(headers), widths.map((width) => '-'.repeat(width)).join('  '), ...rows.map(line)].join('\n');
}

export function policyTable(report: SimulationReport): string {
  const names = Object.keys(report.policies) as PolicyName[];
  const rows = names.map((name) => {
    const policy = report.policies[name]!;
    return [name, String(policy.constrainedUsers), ...metricColumns.map((column) => cell(column.value(policy), column.decimals)), String(policy.decisions)];
  });
  return formatTable(['policy', 'constrained', ...metricColumns.map((column) => column.title), 'decisions'], rows);
}

export function archetypeTable(report: SimulationReport, name: PolicyName): string {
  const policy = report.policies[name]!;
  const rows = archetypes.map((archetype) => {
    const metrics = policy.byArchetype[archetype];
    return [archetype, String(metrics.users), String(metrics.constrainedUsers), ...metricColumns.map((column) => cell(column.value(metrics), column.decimals))];
  });
  return formatTable([name, 'users', 'constrained', ...metricColumns.map((column) => column.title)], rows);
}

export function reportText(report: SimulationReport): string {
  const names = Object.keys(report.policies) as PolicyName[];
  const seconds = (report.wallMs / 1000).toFixed(1);
  const header = `${report.users} users × ${report.days} days, seed ${report.seed}: ${report.decisions.toLocaleString('en-US')} decisions in ${seconds} s on ${report.workers} worker(s) (${report.decisionsPerSecond.toLocaleString('en-US')} decisions/s)`;
  return [header, '', policyTable(report), ...names.flatMap((name) => ['', archetypeTable(report, name)])].join('\n');
}

const fixed = (value: number | null, decimals: number) => (value === null ? '–' : value.toFixed(decimals));
const range = (estimate: Estimate, decimals: number) => `${estimate.value.toFixed(decimals)} [${estimate.low.toFixed(decimals)}, ${estimate.high.toFixed(decimals)}]`;

/** The bandit experiment: one row per run, the gain per archetype, and offline evaluation against the truth. */
export function banditReportText(report: BanditExperimentReport): string {
  const header = `bandit experiment: ${report.users} users × ${report.days} days, seed ${report.seed}, pace policy, ±${Math.round(report.bandit.nudgeMax * 100)}% nudge, ${report.trackSeconds === null ? 'a segment per session' : `a segment per ${(report.trackSeconds / 60).toFixed(1)} min track`}, statistics merged daily (${(report.wallMs / 1000).toFixed(1)} s)`;
  const runs = formatTable(
    ['run', 'reward/frame', 'reward/credit', 'lift/credit', 'gain %', 'lift', 'gain %', 'credits', 'leans fresh %', 'leans library %', 'run out %', '<day 25 %', 'used % (med)', 'pace RMSE %', 'fresh/day CV', 'goals'],
    report.policies.map((policy) => [
      policy.policy, policy.rewardPerFrame.toFixed(5), policy.rewardPerCredit.toFixed(3), policy.liftPerCredit.toFixed(4), policy.liftPerCreditGainPct.toFixed(2),
      policy.lift.toFixed(0), policy.liftGainPct.toFixed(2), String(policy.credits), policy.leanFreshPct.toFixed(1), policy.leanLibraryPct.toFixed(1), fixed(policy.runOutPct, 1), fixed(policy.runOutBeforeDay25Pct, 1),
      fixed(policy.utilizationMedianPct, 1), fixed(policy.pacingRmsePct, 1), fixed(policy.dailyFreshCvMedian, 3), policy.goalsMet ? 'met' : 'MISSED',
    ]),
  );
  const byArchetype = formatTable(
    ['lift/credit gain % by archetype', ...archetypes],
    report.policies.map((policy) => [policy.policy, ...archetypes.map((archetype) => policy.byArchetype[archetype].liftPerCreditGainPct.toFixed(2))]),
  );
  return [header, '', runs, '', byArchetype, ...(report.ope === null ? [] : ['', opeText(report.ope)])].join('\n');
}

function opeText(ope: OpeValidation): string {
  const header = [
    `offline evaluation from the ${ope.loggedBy} run's log: ${ope.logged.toLocaleString('en-US')} of ${ope.decisions.toLocaleString('en-US')} decisions (a ${(ope.sampleShare * 100).toFixed(1)}% sample), 95% intervals`,
    `fresh frames shown per unit of logged p (eligible decisions): ${ope.freshPerLoggedP.toFixed(4)}`,
  ].join('\n');
  const rewards = formatTable(
    ['candidate', 'true run', 'true reward/frame', 'IPS', 'SNIPS', 'DR', 'DR error %', 'ESS', 'unidentifiable'],
    ope.checks.map((check) => [
      check.candidate, check.truthPolicy, check.truth.rewardPerFrame.toFixed(5), range(check.estimates.ips.reward, 5), range(check.estimates.snips.reward, 5),
      range(check.estimates.dr.reward, 5), check.rewardErrorPct.dr.toFixed(3), Math.round(check.estimates.effectiveSampleSize).toLocaleString('en-US'), String(check.estimates.unidentifiable),
    ]),
  );
  const sharper = formatTable(
    ['candidate', 'true lift/frame', 'DR lift/frame', 'true credits/frame', 'DR credits/frame', 'true lift/credit', 'OPE lift/credit'],
    ope.checks.map((check) => [
      check.candidate, check.truth.liftPerFrame.toFixed(5), range(check.liftPerFrame.dr, 5), check.truth.spendPerFrame.toFixed(5), range(check.estimates.dr.spend, 5),
      check.truth.liftPerCredit.toFixed(4), check.estimates.liftPerCredit === null ? '–' : range(check.estimates.liftPerCredit, 4),
    ]),
  );
  const gains = formatTable(
    ['candidate', 'true gain over the log (reward/frame)', 'estimated (paired IPS)'],
    ope.checks.map((check) => [check.candidate, check.truth.gainOverLoggedPerFrame.toFixed(6), range(check.estimates.versusLogged.reward, 6)]),
  );
  return [header, '', rewards, '', sharper, '', gains].join('\n');
}
