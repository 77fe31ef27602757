/**
 * The report as one SVG (hand-written, no dependency): a panel per archetype showing cumulative
 * spend as % of budget over the cycle — the even-burn plan dashed, each policy's median over the
 * archetype's constrained users as a line, and the default policy's p10–p90 band shaded, so that
 * "on pace" and "how spread out" read at a glance. Sized for ~1200×800.
 */
import type { PolicyName } from '../../server/src/titration/policies.js';
import type { SimulationReport, SpendCurve } from './metrics.js';
import { archetypes, type Archetype } from './population.js';

const size = { width: 1200, height: 800, top: 70, columns: 3, rows: 2, gap: 20 } as const;
const plotMargin = { left: 48, right: 12, top: 28, bottom: 36 } as const;
const bandPolicy: PolicyName = 'pace';
const colours: Record<PolicyName, string> = { pace: '#1f77b4', pid: '#d62728', quantile: '#2ca02c', 'seeds-literal': '#ff7f0e' };

type Box = { x: number; y: number; width: number; height: number };
type Scale = { x: (day: number) => number; y: (percent: number) => number };

const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const fixed = (value: number) => value.toFixed(1);

function panelBox(index: number): Box {
  const width = (size.width - size.gap * (size.columns + 1)) / size.columns;
  const height = (size.height - size.top - size.gap * size.rows) / size.rows;
  const column = index % size.columns;
  const row = Math.floor(index / size.columns);
  return { x: size.gap + column * (width + size.gap), y: size.top + row * (height + size.gap), width, height };
}

function scaleOf(box: Box, days: number, percentMax: number): Scale {
  const left = box.x + plotMargin.left;
  const plotWidth = box.width - plotMargin.left - plotMargin.right;
  const bottom = box.y + box.height - plotMargin.bottom;
  const plotHeight = box.height - plotMargin.top - plotMargin.bottom;
  return { x: (day) => left + (plotWidth * day) / days, y: (percent) => bottom - (plotHeight * percent) / percentMax };
}

const points = (scale: Scale, values: readonly number[]) => values.map((value, day) => `${fixed(scale.x(day))},${fixed(scale.y(value))}`).join(' ');

function axes(scale: Scale, days: number, percentMax: number): string[] {
  const parts: string[] = [];
  for (let percent = 0; percent <= percentMax; percent += 25) {
    const y = fixed(scale.y(percent));
    parts.push(`<line x1="${fixed(scale.x(0))}" y1="${y}" x2="${fixed(scale.x(days))}" y2="${y}" stroke="#e4e4e4"/>`);
    parts.push(`<text x="${fixed(scale.x(0) - 6)}" y="${y}" text-anchor="end" dominant-baseline="middle" font-size="11">${percent}%</text>`);
  }
  for (let day = 0; day <= days; day += 5) {
    parts.push(`<text x="${fixed(scale.x(day))}" y="${fixed(scale.y(0) + 16)}" text-anchor="middle" font-size="11">${day}</text>`);
  }
  parts.push(`<line x1="${fixed(scale.x(0))}" y1="${fixed(scale.y(0))}" x2="${fixed(scale.x(days))}" y2="${fixed(scale.y(0))}" stroke="#888"/>`);
  parts.push(`<line x1="${fixed(scale.x(0))}" y1="${fixed(scale.y(0))}" x2="${fixed(scale.x(0))}" y2="${fixed(scale.y(percentMax))}" stroke="#888"/>`);
  parts.push(`<text x="${fixed(scale.x(days / 2))}" y="${fixed(scale.y(0) + 31)}" text-anchor="middle" font-size="11" fill="#555">day of cycle</text>`);
  return parts;
}

function panel(report: SimulationReport, archetype: Archetype, index: number, percentMax: number): string {
  const box = panelBox(index);
  const scale = scaleOf(box, report.days, percentMax);
  const names = Object.keys(report.policies) as PolicyName[];
  const curveOf = (name: PolicyName): SpendCurve => report.policies[name]!.curves[archetype];
  const first = curveOf(names[0]!);
  const who = first.basis === 'constrained' ? `median of ${first.users} constrained users` : `all ${first.users} users (none constrained)`;
  const parts = [`<text x="${fixed(box.x + plotMargin.left)}" y="${fixed(box.y + 16)}" font-size="14" font-weight="bold">${escape(archetype)}<tspan dx="8" font-weight="normal" font-size="12" fill="#555">— ${escape(who)}</tspan></text>`];
  parts.push(...axes(scale, report.days, percentMax));
  const band = report.policies[bandPolicy]?.curves[archetype];
  if (band !== undefined && band.users > 0) {
    const outline = [...band.p10Pct.map((value, day) => [day, value] as const), ...band.p90Pct.map((value, day) => [day, value] as const).reverse()];
    parts.push(`<polygon points="${outline.map(([day, value]) => `${fixed(scale.x(day))},${fixed(scale.y(value))}`).join(' ')}" fill="${colours[bandPolicy]}" fill-opacity="0.13" stroke="none"/>`);
  }
  parts.push(`<line x1="${fixed(scale.x(0))}" y1="${fixed(scale.y(0))}" x2="${fixed(scale.x(report.days))}" y2="${fixed(scale.y(100))}" stroke="#333" stroke-dasharray="6 4"/>`);
  for (const name of names) {
    parts.push(`<polyline points="${points(scale, curveOf(name).medianPct)}" fill="none" stroke="${colours[name]}" stroke-width="2"/>`);
  }
  return `<g>${parts.join('')}</g>`;
}

function legend(report: SimulationReport, index: number): string {
  const box = panelBox(index);
  const names = Object.keys(report.policies) as PolicyName[];
  const x = box.x + plotMargin.left;
  let y = box.y + 40;
  const parts = [`<text x="${x}" y="${box.y + 16}" font-size="14" font-weight="bold">Legend</text>`];
  for (const name of names) {
    parts.push(`<line x1="${x}" y1="${y}" x2="${x + 36}" y2="${y}" stroke="${colours[name]}" stroke-width="2"/><text x="${x + 44}" y="${y}" dominant-baseline="middle" font-size="13">${escape(name)} (median)</text>`);
    y += 24;
  }
  if (report.policies[bandPolicy] !== undefined) {
    parts.push(`<rect x="${x}" y="${y - 7}" width="36" height="14" fill="${colours[bandPolicy]}" fill-opacity="0.13"/><text x="${x + 44}" y="${y}" dominant-baseline="middle" font-size="13">${bandPolicy}: 10th–90th percentile</text>`);
    y += 24;
  }
  parts.push(`<line x1="${x}" y1="${y}" x2="${x + 36}" y2="${y}" stroke="#333" stroke-dasharray="6 4"/><text x="${x + 44}" y="${y}" dominant-baseline="middle" font-size="13">plan: even burn to 100% on the last day</text>`);
  y += 36;
  const notes = ['Constrained: the cycle at p = 1 would cost', 'more than the budget (base + rollover).', 'y: credits spent by the end of the day,', 'in % of that budget.'];
  notes.forEach((note, line) => parts.push(`<text x="${x}" y="${y + line * 18}" font-size="12" fill="#555">${escape(note)}</text>`));
  return `<g>${parts.join('')}</g>`;
}

/** The highest value any drawn line or band reaches, rounded up to a 25% gridline (at least 100%). */
function percentMaxOf(report: SimulationReport): number {
  let highest = 100;
  for (const policy of Object.values(report.policies)) {
    for (const curve of Object.values(policy.curves)) highest = Math.max(highest, ...curve.medianPct, ...curve.p90Pct);
  }
  return Math.ceil(highest / 25) * 25;
}

export function chartOf(report: SimulationReport): string {
  const percentMax = percentMaxOf(report);
  const title = `Cumulative spend as % of budget — ${report.users} users, ${report.days} days, seed ${report.seed}`;
  const subtitle = 'Each line is the median user of the archetype; closer to the dashed plan is better paced, ending near 100% is better used.';
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${size.width}" height="${size.height}" viewBox="0 0 ${size.width} ${size.height}" font-family="system-ui, sans-serif">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="${size.gap}" y="30" font-size="20" font-weight="bold">${escape(title)}</text>`,
    `<text x="${size.gap}" y="52" font-size="13" fill="#555">${escape(subtitle)}</text>`,
    ...archetypes.map((archetype, index) => panel(report, archetype, index, percentMax)),
    legend(report, archetypes.length),
    '</svg>',
    '',
  ].join('\n');
}
