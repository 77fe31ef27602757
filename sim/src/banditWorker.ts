/**
 * A worker thread of the bandit experiment: builds the population from the seed (as the main
 * thread does) and runs one policy over it, day by day. A run depends only on its setup, so which
 * thread runs it changes nothing in the result.
 */
import { parentPort } from 'node:worker_threads';
import { runExperimentPolicy } from './bandit.js';
import type { BanditJob } from './banditRunner.js';
import { populationOf } from './population.js';

const port = parentPort;
if (port === null) throw new Error('sim/src/banditWorker.ts runs as a worker thread only');

port.on('message', (job: BanditJob) => {
  const plans = populationOf(job.setup.seed, job.users, job.setup.days);
  const result = runExperimentPolicy({ ...job.setup, plans }, job.logging);
  const { outcomes, log } = result;
  const buffers = [
    outcomes.frames, outcomes.fresh, outcomes.spentCredits, outcomes.demandAtFullCredits, outcomes.runOutElapsedDays,
    outcomes.cumulativeSpendCredits, outcomes.freshByDay, outcomes.framesByDay,
    ...(log === null ? [] : [log.segment, log.fresh, log.eligible, log.reward, log.charged, log.pFresh, log.multiplier, log.pMax, log.libraryReward]),
  ].map((array) => array.buffer as ArrayBuffer);
  port.postMessage(result, buffers);
});
