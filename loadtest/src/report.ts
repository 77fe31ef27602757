/** The bench report: its JSON shape and the table printed for a person. */
import type { Correctness } from './correctness.js';
import { withinBucket, type IdleResult, type PhaseResult, type ReconnectResult, type ServerQuantiles, type UpdateBaseline } from './scenarios.js';

export type Report = {
  machine: Record<string, unknown>;
  settings: Record<string, number>;
  echo: { idle: IdleResult; steady: PhaseResult };
  steady: PhaseResult & { idle: IdleResult };
  dj: PhaseResult;
  charge: PhaseResult & { updateBaseline: UpdateBaseline };
  reconnect: ReconnectResult;
  ratios: { cpuPerDecisionOverEcho: number | null; p99OverEcho: number | null; memoryPerConnectionOverEcho: number | null; chargedPerSecondOverUpdateBaseline: number | null };
  correctness: Correctness;
  durationSeconds?: number;
};

const goals = { cpuPerDecisionOverEcho: 3, p99OverEcho: 2, memoryPerConnectionOverEcho: 2 } as const;

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows.map((row) => row.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join('  ')).join('\n');
}

const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;
const fixed = (value: number, digits = 1) => value.toFixed(digits);
const verdict = (value: number | null, ok: boolean) => (value === null ? 'n/a' : `${value.toFixed(2)} ${ok ? 'ok' : 'MISSED'}`);

const serverTimeOf = (phase: PhaseResult) =>
  phase.serverDecision === null ? '—' : `${withinBucket(phase.serverDecision.p50AtMostMs)} / ${withinBucket(phase.serverDecision.p99AtMostMs, phase.serverDecision.p99AboveMs)}`;
const poolWaitOf = (phase: PhaseResult) =>
  phase.serverPoolWait === null ? '—' : `${phase.serverPoolWait.acquired}, ${withinBucket(phase.serverPoolWait.p99AtMostMs, phase.serverPoolWait.p99AboveMs)}`;
const p99Of = (quantiles: ServerQuantiles | null) => (quantiles === null ? '—' : withinBucket(quantiles.p99AtMostMs, quantiles.p99AboveMs));
const sessionStartOf = (reconnect: ReconnectResult) =>
  reconnect.serverSessionStart === null ? '—' : `${p99Of(reconnect.serverSessionStart.upgrade)} / ${p99Of(reconnect.serverSessionStart.hello)}`;
const warmupOf = (phase: PhaseResult) => `${fixed(phase.warmup.seconds, 1)} (${phase.warmup.settled === null ? '—' : phase.warmup.settled ? 'yes' : 'no'})`;

/** Native (the C heap's, or resident memory less V8's reservation where that cannot be read) + heap, then resident memory's own slope. */
const nativeAndHeap = (idle: IdleResult) =>
  `${idle.nativePerConnection}${idle.nativeMeasure === 'cHeap' ? '' : ' [resident less V8]'}${idle.nativeFromEcho ? ' (echo)' : ''} + ${idle.heapPerConnection} (${idle.residentPerConnection})`;

export function formatReport(report: Report): string {
  const { echo, steady, dj, charge, reconnect, ratios, correctness } = report;
  const lines: string[] = [];
  lines.push(
    table([
      ['', 'echo', 'titrate', 'ratio (goal)'],
      ['steady sessions', String(echo.steady.sessions), String(steady.sessions), ''],
      ['warm-up s (CPU settled)', warmupOf(echo.steady), warmupOf(steady), ''],
      ['answers/s', fixed(echo.steady.decisionsPerSecond), fixed(steady.decisionsPerSecond), ''],
      ['CPU µs per decision', fixed(echo.steady.cpuMicrosPerDecision), fixed(steady.cpuMicrosPerDecision), `${verdict(ratios.cpuPerDecisionOverEcho, (ratios.cpuPerDecisionOverEcho ?? Infinity) <= goals.cpuPerDecisionOverEcho)} (≤ 3)`],
      ['p50 / p90 ms', `${fixed(echo.steady.latency.library.p50Ms, 2)} / ${fixed(echo.steady.latency.library.p90Ms, 2)}`, `${fixed(steady.latency.library.p50Ms, 2)} / ${fixed(steady.latency.library.p90Ms, 2)}`, ''],
      ['server decision time p50 / p99 ms', '', serverTimeOf(steady), ''],
      ['p99 / max ms', `${fixed(echo.steady.latency.library.p99Ms, 2)} / ${fixed(echo.steady.latency.library.maxMs, 1)}`, `${fixed(steady.latency.library.p99Ms, 2)} / ${fixed(steady.latency.library.maxMs, 1)}`, `${verdict(ratios.p99OverEcho, (ratios.p99OverEcho ?? Infinity) <= goals.p99OverEcho)} (≤ 2)`],
      ['idle sessions', String(echo.idle.sessions), String(steady.idle.sessions), ''],
      ['memory per connection', kib(echo.idle.bytesPerConnection), kib(steady.idle.bytesPerConnection), `${verdict(ratios.memoryPerConnectionOverEcho, (ratios.memoryPerConnectionOverEcho ?? Infinity) <= goals.memoryPerConnectionOverEcho)} (≤ 2)`],
      ['  native + heap B (resident B)', nativeAndHeap(echo.idle), nativeAndHeap(steady.idle), ''],
    ]),
  );
  lines.push('');
  lines.push(
    table([
      ['', 'value'],
      ['dj sessions (started)', `${dj.sessions} (${dj.sessionsStarted})`],
      ['dj decisions/s', fixed(dj.decisionsPerSecond)],
      ['dj library p50 / p99 ms', `${fixed(dj.latency.library.p50Ms, 2)} / ${fixed(dj.latency.library.p99Ms, 2)}`],
      ['dj fresh frames, p50 / p99 ms', `${dj.frames.fresh}, ${fixed(dj.latency.fresh.p50Ms, 1)} / ${fixed(dj.latency.fresh.p99Ms, 1)}`],
      ['dj pending p99 ms', fixed(dj.latency.pending.p99Ms, 2)],
      ['dj pool clients taken, p99 wait ms', poolWaitOf(dj)],
      ['dj CPU µs per decision', fixed(dj.cpuMicrosPerDecision)],
      ['dj bursts charged', `${dj.bursts.charged} of ${dj.bursts.sent}`],
      ['charged fresh decisions/s', fixed(charge.chargedPerSecond)],
      [`UPDATE transactions/s (${charge.updateBaseline.clients} clients, the better of ${charge.updateBaseline.runs.join(' and ')})`, String(charge.updateBaseline.transactionsPerSecond)],
      ['charged / UPDATE (goal ≥ 0.8)', verdict(ratios.chargedPerSecondOverUpdateBaseline, (ratios.chargedPerSecondOverUpdateBaseline ?? 0) >= 0.8)],
      ['charge p50 / p99 ms', `${fixed(charge.latency.fresh.p50Ms, 2)} / ${fixed(charge.latency.fresh.p99Ms, 2)}`],
      ['reconnect: all live again after', `${reconnect.reconnectedWithinMs} ms (${reconnect.resumed} resumed of ${reconnect.sessions})`],
      ['reconnect p50 / p99 ms', `${fixed(reconnect.connectMs.p50Ms, 1)} / ${fixed(reconnect.connectMs.p99Ms, 1)}`],
      ['reconnect server upgrade / hello p99 ms', sessionStartOf(reconnect)],
    ]),
  );
  lines.push('');
  lines.push(
    `correctness: unanswered ${correctness.unanswered}, ledger ${correctness.ledgerConsistent ? 'consistent' : 'INCONSISTENT'}, ` +
      `negative balances ${correctness.negativeBalances}, unmatched debits ${correctness.unmatchedDebits} ` +
      `(debits ${correctness.debits}: ${correctness.delivered} delivered, ${correctness.refunds} refunded)`,
  );
  const errors = { ...steady.errors, ...dj.errors, ...charge.errors };
  if (Object.keys(errors).length > 0) lines.push(`errors by code: ${JSON.stringify(errors)}`);
  return lines.join('\n');
}
