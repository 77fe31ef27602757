/**
 * The generation queues, in pg-boss inside PostgreSQL (schema `pgboss`): `generate-interactive`
 * (a player is waiting) and `generate-background` (congested frames, later pantry filling). Workers
 * always take interactive work first. A job carries only the generation's id; the generation row
 * is the truth, so a job that runs late or twice finds the row already settled and does nothing.
 *
 * Jobs are sent with the debit's transaction client (`{ db }`), so the debit, the generation row
 * and the job commit together or not at all. pg-boss 10 answers `send` with null when the queue
 * does not exist, so queues are created at start and a null id aborts the transaction.
 */
import PgBoss from 'pg-boss';
import type pg from 'pg';
import type { QueueName } from './store.js';

export const queueNames: Record<QueueName, string> = {
  interactive: 'generate-interactive',
  background: 'generate-background',
};
/** Fetch order: interactive work always before background work. */
export const queuePriority: readonly QueueName[] = ['interactive', 'background'];

export type GenerationJob = { jobId: string; queue: QueueName; generationId: string };

export class GenerationQueue {
  readonly #boss: PgBoss;
  readonly #expireInSeconds: number;

  private constructor(boss: PgBoss, expireInSeconds: number) {
    this.#boss = boss;
    this.#expireInSeconds = expireInSeconds;
  }

  /**
   * Creates both queues (idempotent). A job is never retried by pg-boss: a failed generation is
   * refunded and the player answered from the library at once, which is better than a late retry.
   */
  static async open(boss: PgBoss, expireInSeconds: number): Promise<GenerationQueue> {
    for (const name of Object.values(queueNames)) {
      await boss.createQueue(name, { name, retryLimit: 0, expireInSeconds });
    }
    return new GenerationQueue(boss, expireInSeconds);
  }

  /**
   * Enqueues within the caller's transaction; throws (rolling it back) if pg-boss refuses. Within a
   * queue, higher `priority` is fetched first (pantry fills go below players' work).
   */
  async send(client: pg.PoolClient, queue: QueueName, generationId: string, priority = 0): Promise<string> {
    const db = { executeSql: (text: string, values: unknown[]) => client.query(text, values) };
    const jobId = await this.#boss.send(queueNames[queue], { generationId }, { db, retryLimit: 0, expireInSeconds: this.#expireInSeconds, priority });
    if (jobId === null) throw new Error(`pg-boss did not accept a job on ${queueNames[queue]}`);
    return jobId;
  }

  /** The next job, interactive first; null when both queues are empty. */
  async fetchNext(): Promise<GenerationJob | null> {
    for (const queue of queuePriority) {
      const jobs = await this.#boss.fetch<{ generationId?: unknown }>(queueNames[queue], { batchSize: 1 });
      const job = jobs[0];
      if (job === undefined) continue;
      const generationId = typeof job.data.generationId === 'string' ? job.data.generationId : '';
      return { jobId: job.id, queue, generationId };
    }
    return null;
  }

  async complete(job: GenerationJob): Promise<void> {
    await this.#boss.complete(queueNames[job.queue], job.jobId);
  }

  async fail(job: GenerationJob, reason: string): Promise<void> {
    await this.#boss.fail(queueNames[job.queue], job.jobId, { reason });
  }
}
