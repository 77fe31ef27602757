/**
 * The report as plain-text tables for a terminal: one row per policy, then one table per policy
 * with a row per archetype. Columns are right-aligned numbers; a missing value (no qualifying
 * users) prints as "–".
 */
import type { PolicyName } from '../../server/src/titration/policies.js';
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
