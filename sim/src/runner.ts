/**
 * `runSimulation`: a population, every requested policy over it, and the report. The CLI, the
 * tests and the benchmark all come through here.
 *
 * The work is split into jobs of `limits.usersPerJob` users × one policy and, with more than one
 * worker, handed to worker threads as they come free. A user's result depends only on (seed, user,
 * policy, settings), so the report is the same for any number of workers; only the clock differs.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { TitrationSettings } from '../../server/src/titration/controller.js';
import type { PolicyName } from '../../server/src/titration/policies.js';
import { limits } from './limits.js';
import { policyReportOf, populationSummaryOf, type SimulationReport } from './metrics.js';
import { populationOf } from './population.js';
import { emptyOutcomes, mergeOutcomes, simulatePolicy, type Outcomes } from './simulation.js';

export type SimulationOptions = {
  users: number;
  days: number;
  seed: number;
  policies: readonly PolicyName[];
  /** Overrides the controller's settings (for tuning); the server's defaults otherwise. */
  settings?: TitrationSettings | undefined;
  /** Worker threads; 1 runs everything on the calling thread. Defaults to the machine's cores. */
  workers?: number | undefined;
  /** Told after each finished job (a long run is tens of minutes; the CLI shows how far it got). */
  onProgress?: ((progress: { jobsDone: number; jobs: number; decisions: number }) => void) | undefined;
};

export type WorkerSetup = { seed: number; days: number; settings: TitrationSettings | undefined };
export type WorkerJob = { policy: PolicyName; fromUser: number; toUser: number };

function jobsOf(options: SimulationOptions): WorkerJob[] {
  const jobs: WorkerJob[] = [];
  for (const policy of options.policies) {
    for (let fromUser = 0; fromUser < options.users; fromUser += limits.usersPerJob) {
      jobs.push({ policy, fromUser, toUser: Math.min(options.users, fromUser + limits.usersPerJob) });
    }
  }
  return jobs;
}

/**
 * Node 20 does not hand `--import tsx` on to worker threads, so each worker registers tsx itself
 * before it loads its TypeScript entry (`worker.ts` unless another is named).
 */
export function startWorker(setup: unknown, entry: string = new URL('./worker.ts', import.meta.url).href): Worker {
  const tsx = import.meta.resolve('tsx/esm/api');
  const bootstrap = `import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(bootstrap, { eval: true, workerData: setup });
}

/** Runs the jobs on `count` worker threads, merging each result into its policy's outcomes. */
async function runInWorkers(options: SimulationOptions, jobs: readonly WorkerJob[], count: number, merge: (part: Outcomes) => void): Promise<void> {
  const pending = [...jobs];
  const setup: WorkerSetup = { seed: options.seed, days: options.days, settings: options.settings };
  const workers = Array.from({ length: count }, () => startWorker(setup));
  try {
    await Promise.all(
      workers.map(
        (worker) =>
          new Promise<void>((resolve, reject) => {
            const next = () => {
              const job = pending.shift();
              if (job === undefined) resolve();
              else worker.postMessage(job);
            };
            worker.on('message', (part: Outcomes) => {
              merge(part);
              next();
            });
            worker.on('error', reject);
            worker.on('exit', (code) => reject(new Error(`simulator worker exited with code ${code}`)));
            next();
          }),
      ),
    );
  } finally {
    await Promise.all(workers.map((worker) => worker.terminate()));
  }
}

export function defaultWorkers(): number {
  return Math.min(limits.workersMax, availableParallelism());
}

export async function runSimulation(options: SimulationOptions): Promise<SimulationReport> {
  const started = performance.now();
  const plans = populationOf(options.seed, options.users, options.days);
  const jobs = jobsOf(options);
  const workers = Math.max(1, Math.min(options.workers ?? defaultWorkers(), limits.workersMax, jobs.length));
  const outcomes = new Map(options.policies.map((policy) => [policy, emptyOutcomes(policy, 0, options.users, options.days)]));
  const progress = { jobsDone: 0, jobs: jobs.length, decisions: 0 };
  const merge = (part: Outcomes) => {
    mergeOutcomes(outcomes.get(part.policy)!, part);
    progress.jobsDone += 1;
    progress.decisions += part.decisions;
    options.onProgress?.({ ...progress });
  };
  if (workers === 1) {
    for (const job of jobs) {
      merge(simulatePolicy(plans.slice(job.fromUser, job.toUser), { policy: job.policy, days: options.days, seed: options.seed, settings: options.settings }));
    }
  } else {
    await runInWorkers(options, jobs, workers, merge);
  }
  const wallMs = performance.now() - started;
  const policies = Object.fromEntries(options.policies.map((policy) => [policy, policyReportOf(plans, outcomes.get(policy)!)]));
  const decisions = [...outcomes.values()].reduce((sum, part) => sum + part.decisions, 0);
  return {
    users: options.users,
    days: options.days,
    seed: options.seed,
    population: populationSummaryOf(plans),
    policies,
    decisions,
    wallMs: Math.round(wallMs),
    decisionsPerSecond: Math.round(decisions / (wallMs / 1000)),
    workers,
  };
}
