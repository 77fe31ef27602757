/**
 * `npm run sim -- --users N --days D --seed S [--json FILE] [--svg FILE] [--policies a,b] [--workers W]`
 * `npm run sim -- --bandit [--users N] [--days D] [--seed S] [--json FILE] [--workers W] [--algorithms a,b]
 *                 [--log-policy P|none] [--ope-decisions N] [--nudge-max X] [--epsilon X] [--warmup N] [--track-minutes M]`
 *
 * Simulates a population through a credit cycle under each policy and prints the comparison; with
 * --bandit, runs the bandit experiment instead (bandit.ts): the controller alone against the
 * controller nudged by each bandit algorithm, and offline evaluation checked against the truth.
 * The arguments are checked before anything runs: a bad one prints what is wrong and exits with 2.
 * With --json and no --svg, the chart is written next to the JSON (same name, .svg).
 */
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { defaultBanditSettings } from '../../server/src/bandit/policy.js';
import { policyNames } from '../../server/src/titration/policies.js';
import { defaultExperimentPolicies, experimentPolicies } from './bandit.js';
import { runBanditExperimentOnWorkers } from './banditRunner.js';
import { chartOf } from './chart.js';
import { limits } from './limits.js';
import { defaultWorkers, runSimulation } from './runner.js';
import { banditReportText, reportText } from './table.js';

/** A long run says how far it got this often (on stderr, so stdout stays the report). */
const progressEveryMs = 15_000;

const usage = [
  'usage: npm run sim -- [--users N] [--days D] [--seed S] [--json FILE] [--svg FILE] [--policies pace,pid,quantile,seeds-literal] [--workers W]',
  '       npm run sim -- --bandit [--users N] [--days D] [--seed S] [--json FILE] [--workers W] [--algorithms epsilon-greedy,thompson,ucb,oracle]',
  '                      [--log-policy controller|epsilon-greedy|thompson|ucb|oracle|none] [--ope-decisions N] [--nudge-max X] [--epsilon X] [--warmup N] [--track-minutes M]',
].join('\n');

const integer = (name: string, low: number, high: number) =>
  z.coerce.number({ error: `--${name} must be a number` }).int(`--${name} must be a whole number`).min(low, `--${name} must be at least ${low}`).max(high, `--${name} must be at most ${high}`);

/** What both the plain simulator and the bandit experiment take. */
const populationArguments = {
  users: integer('users', 1, limits.usersMax).default(1000),
  days: integer('days', 1, limits.daysMax).default(30),
  seed: integer('seed', 0, 2 ** 32 - 1).default(1),
  workers: integer('workers', 1, limits.workersMax).optional(),
  json: z.string().min(1, '--json needs a file name').optional(),
};

const Arguments = z.object({
  ...populationArguments,
  svg: z.string().min(1, '--svg needs a file name').optional(),
  policies: z
    .string()
    .default(policyNames.join(','))
    .transform((text) => text.split(',').map((name) => name.trim()))
    .pipe(z.array(z.enum(policyNames, { error: `--policies takes names from: ${policyNames.join(', ')}` })).min(1))
    .refine((names) => new Set(names).size === names.length, '--policies names a policy twice'),
});

const share = (name: string, low: number, high: number) =>
  z.coerce.number({ error: `--${name} must be a number` }).min(low, `--${name} must be at least ${low}`).max(high, `--${name} must be at most ${high}`);

/** The bandit experiment's arguments (the plain simulator's --policies and --svg mean nothing there). */
const BanditArguments = z.object({
  ...populationArguments,
  algorithms: z
    .string()
    .default(defaultExperimentPolicies.join(','))
    .transform((text) => text.split(',').map((name) => name.trim()))
    .pipe(z.array(z.enum(experimentPolicies.filter((name) => name !== 'controller'), { error: '--algorithms takes names from: epsilon-greedy, thompson, ucb, oracle' })).min(1))
    .refine((names) => new Set(names).size === names.length, '--algorithms names one twice'),
  logPolicy: z.enum([...experimentPolicies, 'none'], { error: `--log-policy takes one of: ${experimentPolicies.join(', ')}, none` }).default('epsilon-greedy'),
  opeDecisions: integer('ope-decisions', 1_000, limits.loggedDecisionsMax).default(limits.loggedDecisionsDefault),
  nudgeMax: share('nudge-max', 0, 0.9).default(defaultBanditSettings.nudgeMax),
  epsilon: share('epsilon', 0, 1).default(defaultBanditSettings.epsilon),
  warmup: integer('warmup', 1, 1_000_000).default(defaultBanditSettings.warmupPulls),
  trackMinutes: share('track-minutes', 0.25, 60).optional(),
});

function fail(message: string): never {
  process.stderr.write(`${message}\n${usage}\n`);
  process.exit(2);
}

const text = { type: 'string' } as const;
const cliOptions = {
  users: text, days: text, seed: text, workers: text, json: text, svg: text, policies: text,
  bandit: { type: 'boolean' }, algorithms: text, 'log-policy': text, 'ope-decisions': text, 'nudge-max': text, epsilon: text, warmup: text, 'track-minutes': text,
} as const;
const banditOnly = ['algorithms', 'log-policy', 'ope-decisions', 'nudge-max', 'epsilon', 'warmup', 'track-minutes'] as const;

function valuesOf(argv: string[]): Record<string, unknown> {
  try {
    return parseArgs({ args: argv, options: cliOptions, strict: true, allowPositionals: false }).values;
  } catch (error) {
    fail(error instanceof Error ? error.message : String(error));
  }
}

function argumentsOf(values: Record<string, unknown>) {
  const misplaced = banditOnly.find((name) => values[name] !== undefined);
  if (misplaced !== undefined) fail(`--${misplaced} needs --bandit`);
  const parsed = Arguments.safeParse(values);
  if (!parsed.success) fail(parsed.error.issues.map((issue) => issue.message).join('\n'));
  return parsed.data;
}

function banditArgumentsOf(values: Record<string, unknown>) {
  if (values['policies'] !== undefined) fail('--policies is for the plain simulator; with --bandit, use --algorithms');
  if (values['svg'] !== undefined) fail('--svg is for the plain simulator');
  const parsed = BanditArguments.safeParse({
    users: values['users'], days: values['days'], seed: values['seed'], workers: values['workers'], json: values['json'], algorithms: values['algorithms'],
    logPolicy: values['log-policy'], opeDecisions: values['ope-decisions'], nudgeMax: values['nudge-max'], epsilon: values['epsilon'], warmup: values['warmup'],
    trackMinutes: values['track-minutes'],
  });
  if (!parsed.success) fail(parsed.error.issues.map((issue) => issue.message).join('\n'));
  return parsed.data;
}

async function bandit(values: Record<string, unknown>): Promise<void> {
  const options = banditArgumentsOf(values);
  process.stderr.write(`bandit experiment: ${options.users} users × ${options.days} days, controller + ${options.algorithms.join(', ')} on ${options.workers ?? defaultWorkers()} worker(s)…\n`);
  const report = await runBanditExperimentOnWorkers({
    users: options.users, days: options.days, seed: options.seed, workers: options.workers, algorithms: options.algorithms,
    loggedBy: options.logPolicy === 'none' ? null : options.logPolicy, loggedDecisions: options.opeDecisions,
    bandit: { ...defaultBanditSettings, nudgeMax: options.nudgeMax, epsilon: options.epsilon, warmupPulls: options.warmup },
    trackSeconds: options.trackMinutes === undefined ? null : options.trackMinutes * 60,
  });
  process.stdout.write(`${banditReportText(report)}\n`);
  if (options.json !== undefined) {
    await writeFile(options.json, `${JSON.stringify(report, null, 2)}\n`);
    process.stdout.write(`\nwrote ${options.json}\n`);
  }
}

async function main(): Promise<void> {
  const values = valuesOf(process.argv.slice(2));
  if (values['bandit'] === true) return bandit(values);
  const options = argumentsOf(values);
  const svg = options.svg ?? (options.json === undefined ? undefined : options.json.replace(/(\.json)?$/i, '.svg'));
  process.stderr.write(`simulating ${options.users} users × ${options.days} days under ${options.policies.join(', ')} on ${options.workers ?? defaultWorkers()} worker(s)…\n`);
  const started = performance.now();
  let shownAtMs = started;
  const onProgress = (progress: { jobsDone: number; jobs: number; decisions: number }) => {
    const now = performance.now();
    if (now - shownAtMs < progressEveryMs && progress.jobsDone < progress.jobs) return;
    shownAtMs = now;
    const seconds = (now - started) / 1000;
    process.stderr.write(`  ${progress.jobsDone}/${progress.jobs} jobs, ${progress.decisions.toLocaleString('en-US')} decisions, ${seconds.toFixed(0)} s\n`);
  };
  const report = await runSimulation({ users: options.users, days: options.days, seed: options.seed, policies: options.policies, workers: options.workers, onProgress });
  process.stdout.write(`${reportText(report)}\n`);
  if (options.json !== undefined) await writeFile(options.json, `${JSON.stringify(report, null, 2)}\n`);
  if (svg !== undefined) await writeFile(svg, chartOf(report));
  const written = [options.json, svg].filter((file) => file !== undefined);
  if (written.length > 0) process.stdout.write(`\nwrote ${written.join(' and ')}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`sim failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
