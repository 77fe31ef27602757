/**
 * `npm run bench:controller [-- --seconds N --users N --workers N --skip-simulation --json FILE]`:
 *
 *   1. decisions per second of the pure `titrate()` for each policy, on one core, over a varied
 *      pre-built array of inputs (budgets, clock, demand, today's counts, session progress and
 *      context all differ from one input to the next), after a warm-up. The server calls it once
 *      per frame, so the goal is well above any frame rate a node can serve: over 1,000,000/s.
 *   2. the month-long simulator's wall time for a population under the default policy, and its
 *      decisions per second (all of them go through the same `titrate()`).
 */
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { defaultSettings, newSessionPacing, titrate, type SessionPacing, type TitrationInput } from '../server/src/titration/controller.js';
import { demandOf, type DayCounts } from '../server/src/titration/forecast.js';
import { policyNames, type PolicyName } from '../server/src/titration/policies.js';
import { between, chance, integerBetween, streamOf, uniform, type Stream } from '../sim/src/random.js';
import { runSimulation } from '../sim/src/runner.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '2' },
    users: { type: 'string', default: '5000' },
    workers: { type: 'string' },
    'skip-simulation': { type: 'boolean', default: false },
    json: { type: 'string' },
  },
});
const measureMs = Math.max(2, Number(values.seconds)) * 1000;
const warmUpMs = 1000;
const goalPerSecond = 1_000_000;
/** Distinct inputs cycled through: enough that the branch predictor cannot learn one path. */
const inputCount = 4096;

/** A history of `days` days, for a varied demand estimate. */
function historyOf(stream: Stream, days: number): DayCounts[] {
  const framesPerDay = between(stream, 20, 3_000);
  return Array.from({ length: days }, () => {
    const frames = chance(stream, 0.3) ? 0 : Math.round(framesPerDay * between(stream, 0.5, 1.5));
    const fresh = Math.round(frames * between(stream, 0, 0.2));
    return { frames, fresh, credits: fresh * integerBetween(stream, 1, 2), sessions: frames === 0 ? 0 : integerBetween(stream, 1, 120) };
  });
}

function inputOf(stream: Stream, policy: PolicyName): TitrationInput {
  const budget = chance(stream, 0.7) ? 200 : 600;
  const used = integerBetween(stream, 0, budget);
  const elapsedDays = between(stream, 0, 30);
  const framesToday = integerBetween(stream, 0, 2_000);
  const freshToday = Math.round(framesToday * between(stream, 0, 0.2));
  const framesShown = integerBetween(stream, 0, 300);
  return {
    available: budget - used, used, lengthDays: 30, elapsedDays, dayElapsed: elapsedDays % 1,
    demand: demandOf(historyOf(stream, integerBetween(stream, 0, 28))),
    today: { frames: framesToday, fresh: freshToday, credits: freshToday * 2, sessions: integerBetween(stream, 1, 130) },
    framesShown, freshShown: Math.min(framesShown, integerBetween(stream, 0, 40)), conserve: chance(stream, 0.05),
    libraryPenalty: [0, 0.5, 1][integerBetween(stream, 0, 2)]!, orientationScarcity: chance(stream, 0.15) ? between(stream, 0.5, 1) : 0,
    policy, unlimited: false, burst: false, frameIntervalMs: framesShown === 0 ? null : between(stream, 1_800, 30_000), freshCostMin: 1,
    random: uniform(stream),
  };
}

/** Decisions per second of `titrate` over the inputs, each slot carrying its session's pacing on. */
function decisionsPerSecond(inputs: readonly TitrationInput[]): number {
  const pacings: SessionPacing[] = inputs.map((_, index) => newSessionPacing((index * 0.618_034) % 1));
  let freshCount = 0;
  const runFor = (durationMs: number) => {
    let decisions = 0;
    const started = performance.now();
    let elapsedMs = 0;
    while (elapsedMs < durationMs) {
      for (let index = 0; index < inputs.length; index += 1) {
        const titration = titrate(inputs[index]!, pacings[index]!, defaultSettings);
        pacings[index] = titration.state;
        if (titration.fresh) freshCount += 1;
      }
      decisions += inputs.length;
      elapsedMs = performance.now() - started;
    }
    return decisions / (elapsedMs / 1000);
  };
  runFor(warmUpMs);
  const rate = runFor(measureMs);
  // Keeps the results observable, so the loop cannot be optimised away.
  if (freshCount < 0) throw new Error('unreachable');
  return rate;
}

async function main(): Promise<void> {
  const format = (value: number) => Math.round(value).toLocaleString('en-US');
  process.stdout.write(`titrate() on one core, ${inputCount} varied inputs, ${warmUpMs / 1000} s warm-up then ${measureMs / 1000} s (goal: over ${format(goalPerSecond)}/s per core)\n`);
  process.stdout.write('policy        | decisions/s | vs goal\n');
  const controller: Array<{ policy: PolicyName; decisionsPerSecond: number }> = [];
  for (const policy of policyNames) {
    const stream = streamOf(1, policyNames.indexOf(policy), 'behaviour');
    const rate = decisionsPerSecond(Array.from({ length: inputCount }, () => inputOf(stream, policy)));
    controller.push({ policy, decisionsPerSecond: Math.round(rate) });
    process.stdout.write(`${policy.padEnd(13)} | ${format(rate).padStart(11)} | ${rate >= goalPerSecond ? 'met' : `${((100 * rate) / goalPerSecond).toFixed(0)}% of goal`}\n`);
  }
  let simulation = null;
  if (!values['skip-simulation']) {
    const users = Number(values.users);
    const workers = values.workers === undefined ? undefined : Number(values.workers);
    const report = await runSimulation({ users, days: 30, seed: 1, policies: ['pace'], workers });
    const perCore = report.policies.pace!.decisionsPerSecondPerCore;
    simulation = { users, days: 30, policy: 'pace', workers: report.workers, wallMs: report.wallMs, decisions: report.decisions, decisionsPerSecond: report.decisionsPerSecond, decisionsPerSecondPerCore: perCore };
    process.stdout.write(`\nsimulator: ${users} users × 30 days, pace only, ${report.workers} worker(s): ${(report.wallMs / 1000).toFixed(1)} s wall, ${format(report.decisions)} decisions, ${format(report.decisionsPerSecond)} decisions/s (${format(perCore)}/s per core)\n`);
  }
  if (values.json !== undefined) await writeFile(values.json, `${JSON.stringify({ controller, simulation }, null, 2)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
