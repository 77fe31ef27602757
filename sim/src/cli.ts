/**
 * `npm run sim -- --users N --days D --seed S [--json FILE] [--svg FILE] [--policies a,b] [--workers W]`
 *
 * Simulates a population through a credit cycle under each policy and prints the comparison. The
 * arguments are checked before anything runs: a bad one prints what is wrong and exits with 2.
 * With --json and no --svg, the chart is written next to the JSON (same name, .svg).
 */
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { policyNames } from '../../server/src/titration/policies.js';
import { chartOf } from './chart.js';
import { limits } from './limits.js';
import { defaultWorkers, runSimulation } from './runner.js';
import { reportText } from './table.js';

/** A long run says how far it got this often (on stderr, so stdout stays the report). */
const progressEveryMs = 15_000;

const usage = 'usage: npm run sim -- [--users N] [--days D] [--seed S] [--json FILE] [--svg FILE] [--policies pace,pid,quantile,seeds-literal] [--workers W]';

const integer = (name: string, low: number, high: number) =>
  z.coerce.number({ error: `--${name} must be a number` }).int(`--${name} must be a whole number`).min(low, `--${name} must be at least ${low}`).max(high, `--${name} must be at most ${high}`);

const Arguments = z.object({
  users: integer('users', 1, limits.usersMax).default(1000),
  days: integer('days', 1, limits.daysMax).default(30),
  seed: integer('seed', 0, 2 ** 32 - 1).default(1),
  workers: integer('workers', 1, limits.workersMax).optional(),
  json: z.string().min(1, '--json needs a file name').optional(),
  svg: z.string().min(1, '--svg needs a file name').optional(),
  policies: z
    .string()
    .default(policyNames.join(','))
    .transform((text) => text.split(',').map((name) => name.trim()))
    .pipe(z.array(z.enum(policyNames, { error: `--policies takes names from: ${policyNames.join(', ')}` })).min(1))
    .refine((names) => new Set(names).size === names.length, '--policies names a policy twice'),
});

function fail(message: string): never {
  process.stderr.write(`${message}\n${usage}\n`);
  process.exit(2);
}

function argumentsOf(argv: string[]) {
  let values: Record<string, unknown>;
  try {
    const options = { users: { type: 'string' }, days: { type: 'string' }, seed: { type: 'string' }, workers: { type: 'string' }, json: { type: 'string' }, svg: { type: 'string' }, policies: { type: 'string' } } as const;
    ({ values } = parseArgs({ args: argv, options, strict: true, allowPositionals: false }));
  } catch (error) {
    fail(error instanceof Error ? error.message : String(error));
  }
  const parsed = Arguments.safeParse(values);
  if (!parsed.success) fail(parsed.error.issues.map((issue) => issue.message).join('\n'));
  return parsed.data;
}

async function main(): Promise<void> {
  const options = argumentsOf(process.argv.slice(2));
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
