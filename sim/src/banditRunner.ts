/**
 * The bandit experiment on worker threads: each run (the controller alone, each algorithm) is
 * single-threaded and day by day (bandit.ts), and runs go to threads side by side. The logging
 * run waits for the controller's, whose decision count sizes the log's sample; every other run
 * starts as soon as a thread is free. The report is the same for any number of threads.
 */
import { limits } from './limits.js';
import {
  experimentReportOf,
  experimentSetups,
  loggedByOf,
  logShareOf,
  runBanditExperiment,
  type BanditExperimentOptions,
  type BanditExperimentReport,
  type ExperimentPolicy,
  type RunResult,
  type RunSetup,
} from './bandit.js';
import { populationOf } from './population.js';
import { defaultWorkers, startWorker } from './runner.js';

export type BanditJob = { users: number; setup: Omit<RunSetup, 'plans'>; logging: boolean };

type Pool = { run(job: BanditJob): Promise<RunResult>; close(): Promise<void> };

/** `count` threads, each running one job at a time; jobs wait in order for a free thread. */
function poolOf(count: number): Pool {
  const entry = new URL('./banditWorker.ts', import.meta.url).href;
  const idle = Array.from({ length: count }, () => startWorker(null, entry));
  const all = [...idle];
  const waiting: Array<() => void> = [];
  return {
    async run(job) {
      while (idle.length === 0) await new Promise<void>((resolve) => waiting.push(resolve));
      const worker = idle.pop()!;
      try {
        return await new Promise<RunResult>((resolve, reject) => {
          const onError = (error: Error) => reject(error);
          const onExit = (code: number) => reject(new Error(`bandit worker exited with code ${code}`));
          worker.once('message', (result: RunResult) => {
            worker.off('error', onError).off('exit', onExit);
            resolve(result);
          });
          worker.once('error', onError).once('exit', onExit);
          worker.postMessage(job);
        });
      } finally {
        idle.push(worker);
        waiting.shift()?.();
      }
    },
    async close() {
      await Promise.all(all.map((worker) => worker.terminate()));
    },
  };
}

/** The experiment with its runs spread over `workers` threads (1: all on the calling thread). */
export async function runBanditExperimentOnWorkers(options: BanditExperimentOptions & { workers?: number | undefined }): Promise<BanditExperimentReport> {
  const runCount = experimentSetups(options, []).length;
  const workers = Math.max(1, Math.min(options.workers ?? defaultWorkers(), limits.workersMax, runCount));
  if (workers === 1) return runBanditExperiment(options);
  const started = performance.now();
  const plans = populationOf(options.seed, options.users, options.days);
  const setups = experimentSetups(options, plans);
  const loggedBy = loggedByOf(options, setups);
  const pool = poolOf(workers);
  const runs = new Map<ExperimentPolicy, RunResult>();
  const jobOf = (setup: RunSetup, logShare: number, logging: boolean): BanditJob => ({
    users: options.users,
    setup: { policy: setup.policy, seed: setup.seed, days: setup.days, bandit: setup.bandit, settings: setup.settings, logShare, trackSeconds: setup.trackSeconds ?? null },
    logging,
  });
  let logShare = 1;
  try {
    // A logging controller runs twice: once to count the decisions, once to log a sample of them.
    const controller = pool.run(jobOf(setups[0]!, 1, false)).then((result) => {
      runs.set('controller', result);
      logShare = logShareOf(result.outcomes.decisions, options.loggedDecisions ?? limits.loggedDecisionsDefault);
      const logging = setups.find((setup) => setup.policy === loggedBy);
      return logging === undefined ? undefined : pool.run(jobOf(logging, logShare, true)).then((result) => { runs.set(result.policy, result); });
    });
    const others = setups.slice(1).filter((setup) => setup.policy !== loggedBy).map((setup) => pool.run(jobOf(setup, 1, false)).then((result) => { runs.set(result.policy, result); }));
    await Promise.all([controller, ...others]);
  } finally {
    await pool.close();
  }
  // The report lists runs in the setups' order, whatever order they finished in.
  const ordered = new Map(setups.flatMap((setup) => (runs.has(setup.policy) ? [[setup.policy, runs.get(setup.policy)!] as const] : [])));
  return experimentReportOf(options, plans, ordered, loggedBy, logShare, performance.now() - started);
}
