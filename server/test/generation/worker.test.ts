import { pino } from 'pino';
import t from 'tap';
import type { GenerationJob, GenerationQueue } from '../../src/generation/queue.js';
import { GenerationWorker, workerLimits, type WorkerServices } from '../../src/generation/worker.js';

/**
 * A queue in memory, counting polls. Its jobs name no generation, so a slot that takes one only
 * completes it; `hold` keeps each slot busy on its job until the test lets go.
 */
class CountingQueue {
  polls = 0;
  readonly jobs: GenerationJob[] = [];
  readonly completed: string[] = [];
  busy = 0;
  maxBusy = 0;
  #release: Array<() => void> = [];
  hold = false;

  async fetchNext(): Promise<GenerationJob | null> {
    this.polls += 1;
    return this.jobs.shift() ?? null;
  }

  async complete(job: GenerationJob): Promise<void> {
    this.busy += 1;
    this.maxBusy = Math.max(this.maxBusy, this.busy);
    if (this.hold) await new Promise<void>((resolve) => this.#release.push(resolve));
    this.busy -= 1;
    this.completed.push(job.jobId);
  }

  releaseAll(): void {
    this.hold = false;
    for (const release of this.#release.splice(0)) release();
  }
}

function workerWith(queue: CountingQueue, slots: number): GenerationWorker {
  const store = { heartbeat: async () => undefined, removeWorker: async () => undefined };
  const services = { queue: queue as unknown as GenerationQueue, store, log: pino({ level: 'silent' }) } as unknown as WorkerServices;
  return new GenerationWorker(services, slots);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

t.test('an idle process polls the queues about as often with sixteen slots as with one', async (t) => {
  const queue = new CountingQueue();
  const worker = workerWith(queue, 16);
  await worker.start();
  t.teardown(() => worker.stop());
  await sleep(workerLimits.idlePollMs * 6 + 100);
  // Each slot looks once as it starts; after that one slot polls for all (~6 polls here, where a
  // poll per slot would make ~96).
  t.ok(queue.polls <= 16 + 9, `${queue.polls} polls in ${workerLimits.idlePollMs * 6 + 100} ms`);
});

t.test('a backlog found by one poll reaches every idle slot at once', async (t) => {
  const queue = new CountingQueue();
  const worker = workerWith(queue, 4);
  await worker.start();
  t.teardown(() => worker.stop());
  await sleep(50);
  queue.hold = true;
  // Enqueued by another process: nobody wakes the slots, only the poll finds the jobs.
  queue.jobs.push(...Array.from({ length: 6 }, (_, index) => ({ jobId: `job-${index}`, queue: 'interactive' as const, generationId: '' })));
  await sleep(workerLimits.idlePollMs * 2 + 100);
  t.equal(queue.maxBusy, 4, 'all four slots took a job before the next poll');
  queue.releaseAll();
  await sleep(100);
  t.equal(queue.completed.length, 6, 'and the rest were taken as slots came free');
});

t.test('a local enqueue wakes the slots at once, without waiting for the poll', async (t) => {
  const queue = new CountingQueue();
  const worker = workerWith(queue, 2);
  await worker.start();
  t.teardown(() => worker.stop());
  await sleep(50);
  const before = queue.polls;
  queue.jobs.push({ jobId: 'local', queue: 'interactive', generationId: '' });
  worker.wake();
  // Well inside the poll interval: only the wake can have found it.
  for (let waited = 0; queue.completed.length === 0 && waited < workerLimits.idlePollMs * 0.8; waited += 10) await sleep(10);
  t.same(queue.completed, ['local']);
  t.ok(queue.polls > before);
});
