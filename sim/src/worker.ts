/**
 * A worker thread of the simulator: builds the plans of the users a job names (from the seed, as
 * the main thread does) and runs one policy over them. Each user's streams depend only on
 * (seed, user), so which thread runs a user changes nothing in the result.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { planOf } from './population.js';
import { simulatePolicy } from './simulation.js';
import type { WorkerJob, WorkerSetup } from './runner.js';

const setup = workerData as WorkerSetup;
const port = parentPort;
if (port === null) throw new Error('sim/src/worker.ts runs as a worker thread only');

port.on('message', (job: WorkerJob) => {
  const plans = Array.from({ length: job.toUser - job.fromUser }, (_, offset) => planOf(setup.seed, job.fromUser + offset, setup.days));
  const outcomes = simulatePolicy(plans, { policy: job.policy, days: setup.days, seed: setup.seed, settings: setup.settings });
  const buffers = [
    outcomes.frames, outcomes.fresh, outcomes.spentCredits, outcomes.demandAtFullCredits, outcomes.runOutElapsedDays,
    outcomes.cumulativeSpendCredits, outcomes.freshByDay, outcomes.framesByDay,
  ].map((array) => array.buffer as ArrayBuffer);
  port.postMessage(outcomes, buffers);
});
