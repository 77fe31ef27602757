/**
 * What a run means: from each user's outcomes to the numbers a policy is judged by.
 *
 *   runOutPct              users whose credits fell below the cheapest fresh frame before the
 *                          cycle's last day began (elapsed < days − 1): they had a fresh-less end;
 *   runOutBeforeDay25Pct   the same before elapsed day 24 (the start of day 25): a long one;
 *   utilizationMedianPct   over constrained users (demand at p = 1 above their budget), the median
 *                          share of the budget spent: credits left at the end were fresh frames lost;
 *   pacingRmsePct          per constrained user, the RMS over days d = 1..D of (spent by the end of
 *                          day d − budget·d/D), in % of budget: distance from the even-burn line;
 *                          the median over them (and its 90th percentile);
 *   dailyFreshCvMedian     over users who played every day, the coefficient of variation of their
 *                          fresh frames per day: how steady the fresh mix feels day to day;
 *   freshPctMedianByTier   the median share of fresh frames among users who watched any, per tier.
 *
 * A group with no qualifying user reports null rather than a made-up number. Numbers are rounded
 * (3 decimals) so that reports compare exactly and read easily.
 */
import type { PolicyName } from '../../server/src/titration/policies.js';
import { archetypes, tierNames, type Archetype, type TierName, type UserPlan } from './population.js';
import type { Outcomes } from './simulation.js';

/** The start of day 25 in elapsed days (0-based day 24). */
const earlyRunOutDay = 24;

export type MetricSet = {
  users: number;
  constrainedUsers: number;
  runOutPct: number | null;
  runOutBeforeDay25Pct: number | null;
  utilizationMedianPct: number | null;
  pacingRmsePct: number | null;
  pacingRmsePctP90: number | null;
  dailyFreshCvMedian: number | null;
  freshPctMedianByTier: Record<TierName, number | null>;
  /** Fresh frames per calendar day of the cycle, median over users. */
  freshPerDayMedian: number | null;
  /** Fresh frames per day played, median over users who played. */
  freshPerActiveDayMedian: number | null;
};

/** Cumulative spend in % of budget at the end of each day 0..D, across a group of users. */
export type SpendCurve = { basis: 'constrained' | 'all'; users: number; medianPct: number[]; p10Pct: number[]; p90Pct: number[] };

export type PolicyReport = MetricSet & {
  byArchetype: Record<Archetype, MetricSet>;
  curves: Record<Archetype, SpendCurve>;
  decisions: number;
  /** Thread time spent on this policy (summed over workers when it ran in parallel). */
  computeMs: number;
  decisionsPerSecondPerCore: number;
};

export type SimulationReport = {
  users: number;
  days: number;
  seed: number;
  population: { byArchetype: Record<Archetype, number>; byTier: Record<TierName, number>; withRollover: number; withConserve: number };
  policies: Partial<Record<PolicyName, PolicyReport>>;
  decisions: number;
  wallMs: number;
  decisionsPerSecond: number;
  workers: number;
};

const round = (value: number, decimals = 3) => {
  const scale = 10 ** decimals;
  return Math.round(value * scale) / scale;
};

/** The q-quantile with linear interpolation between order statistics; null for no values. */
export function quantile(values: readonly number[], q: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((left, right) => left - right);
  const position = (sorted.length - 1) * q;
  const lower = Math.floor(position);
  const upper = Math.min(sorted.length - 1, lower + 1);
  return sorted[lower]! + (sorted[upper]! - sorted[lower]!) * (position - lower);
}

const roundedQuantile = (values: readonly number[], q: number) => {
  const value = quantile(values, q);
  return value === null ? null : round(value);
};

const percentOf = (count: number, total: number) => (total === 0 ? null : round((100 * count) / total));

/** A user whose cycle at p = 1 would cost more than their budget: the controller has work to do. */
export function isConstrained(plan: UserPlan, outcomes: Outcomes, row: number): boolean {
  return outcomes.demandAtFullCredits[row]! > plan.budgetCredits;
}

function pacingRmsePctOf(plan: UserPlan, outcomes: Outcomes, row: number): number {
  const days = outcomes.days;
  let sumSquares = 0;
  for (let day = 1; day <= days; day += 1) {
    const gap = outcomes.cumulativeSpendCredits[row * (days + 1) + day]! - (plan.budgetCredits * day) / days;
    sumSquares += gap * gap;
  }
  return (100 * Math.sqrt(sumSquares / days)) / plan.budgetCredits;
}

/** The coefficient of variation of fresh frames per day, or null unless the user played every day. */
function dailyFreshCvOf(outcomes: Outcomes, row: number): number | null {
  const days = outcomes.days;
  let sum = 0;
  let sumSquares = 0;
  for (let day = 0; day < days; day += 1) {
    if (outcomes.framesByDay[row * days + day] === 0) return null;
    const fresh = outcomes.freshByDay[row * days + day]!;
    sum += fresh;
    sumSquares += fresh * fresh;
  }
  const mean = sum / days;
  if (mean === 0) return null;
  return Math.sqrt(Math.max(0, sumSquares / days - mean * mean)) / mean;
}

function activeDaysOf(outcomes: Outcomes, row: number): number {
  let active = 0;
  for (let day = 0; day < outcomes.days; day += 1) if (outcomes.framesByDay[row * outcomes.days + day]! > 0) active += 1;
  return active;
}

function runOutMetrics(outcomes: Outcomes, rows: readonly number[]) {
  const lastDayStart = outcomes.days - 1;
  const earlyDay = Math.min(earlyRunOutDay, lastDayStart);
  const ranOutBefore = (day: number) => rows.filter((row) => outcomes.runOutElapsedDays[row]! < day).length;
  return { runOutPct: percentOf(ranOutBefore(lastDayStart), rows.length), runOutBeforeDay25Pct: percentOf(ranOutBefore(earlyDay), rows.length) };
}

function freshPctMedianByTier(plans: readonly UserPlan[], outcomes: Outcomes, rows: readonly number[]): Record<TierName, number | null> {
  const byTier = (tier: TierName) =>
    rows.filter((row) => plans[row]!.tier === tier && outcomes.frames[row]! > 0).map((row) => (100 * outcomes.fresh[row]!) / outcomes.frames[row]!);
  return { basic: roundedQuantile(byTier('basic'), 0.5), premium: roundedQuantile(byTier('premium'), 0.5) };
}

/** The metrics of the users at `rows` (positions in both `plans` and `outcomes`). */
export function metricsOf(plans: readonly UserPlan[], outcomes: Outcomes, rows: readonly number[]): MetricSet {
  const constrained = rows.filter((row) => isConstrained(plans[row]!, outcomes, row));
  const pacing = constrained.map((row) => pacingRmsePctOf(plans[row]!, outcomes, row));
  const variations = rows.map((row) => dailyFreshCvOf(outcomes, row)).filter((value): value is number => value !== null);
  const active = rows.map((row) => ({ row, days: activeDaysOf(outcomes, row) })).filter((entry) => entry.days > 0);
  return {
    users: rows.length,
    constrainedUsers: constrained.length,
    ...runOutMetrics(outcomes, rows),
    utilizationMedianPct: roundedQuantile(constrained.map((row) => (100 * outcomes.spentCredits[row]!) / plans[row]!.budgetCredits), 0.5),
    pacingRmsePct: roundedQuantile(pacing, 0.5),
    pacingRmsePctP90: roundedQuantile(pacing, 0.9),
    dailyFreshCvMedian: roundedQuantile(variations, 0.5),
    freshPctMedianByTier: freshPctMedianByTier(plans, outcomes, rows),
    freshPerDayMedian: roundedQuantile(rows.map((row) => outcomes.fresh[row]! / outcomes.days), 0.5),
    freshPerActiveDayMedian: roundedQuantile(active.map((entry) => outcomes.fresh[entry.row]! / entry.days), 0.5),
  };
}

/** Cumulative spend in % of budget, day by day, over the group's constrained users (or all, if none). */
export function spendCurveOf(plans: readonly UserPlan[], outcomes: Outcomes, rows: readonly number[]): SpendCurve {
  const constrained = rows.filter((row) => isConstrained(plans[row]!, outcomes, row));
  const basis = constrained.length > 0 ? 'constrained' : 'all';
  const group = constrained.length > 0 ? constrained : rows;
  const curve: SpendCurve = { basis, users: group.length, medianPct: [], p10Pct: [], p90Pct: [] };
  for (let day = 0; day <= outcomes.days; day += 1) {
    const shares = group.map((row) => (100 * outcomes.cumulativeSpendCredits[row * (outcomes.days + 1) + day]!) / plans[row]!.budgetCredits);
    curve.medianPct.push(round(quantile(shares, 0.5) ?? 0, 2));
    curve.p10Pct.push(round(quantile(shares, 0.1) ?? 0, 2));
    curve.p90Pct.push(round(quantile(shares, 0.9) ?? 0, 2));
  }
  return curve;
}

function byArchetype<Value>(plans: readonly UserPlan[], of: (rows: number[]) => Value): Record<Archetype, Value> {
  const entries = archetypes.map((archetype) => {
    const rows = plans.flatMap((plan, row) => (plan.archetype === archetype ? [row] : []));
    return [archetype, of(rows)] as const;
  });
  return Object.fromEntries(entries) as Record<Archetype, Value>;
}

export function policyReportOf(plans: readonly UserPlan[], outcomes: Outcomes): PolicyReport {
  const everyone = plans.map((_, row) => row);
  return {
    ...metricsOf(plans, outcomes, everyone),
    byArchetype: byArchetype(plans, (rows) => metricsOf(plans, outcomes, rows)),
    curves: byArchetype(plans, (rows) => spendCurveOf(plans, outcomes, rows)),
    decisions: outcomes.decisions,
    computeMs: Math.round(outcomes.computeMs),
    decisionsPerSecondPerCore: outcomes.computeMs === 0 ? 0 : Math.round(outcomes.decisions / (outcomes.computeMs / 1000)),
  };
}

export function populationSummaryOf(plans: readonly UserPlan[]): SimulationReport['population'] {
  const count = (test: (plan: UserPlan) => boolean) => plans.filter(test).length;
  return {
    byArchetype: Object.fromEntries(archetypes.map((archetype) => [archetype, count((plan) => plan.archetype === archetype)])) as Record<Archetype, number>,
    byTier: Object.fromEntries(tierNames.map((tier) => [tier, count((plan) => plan.tier === tier)])) as Record<TierName, number>,
    withRollover: count((plan) => plan.rolloverCredits > 0),
    withConserve: count((plan) => plan.conserveToDay > plan.conserveFromDay),
  };
}
