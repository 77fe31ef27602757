/**
 * Scheduled maintenance, run by pg-boss inside PostgreSQL so that any number of server processes
 * share one schedule (pg-boss sends each cron job once, whichever process is up):
 *
 *   ledger-cycles        every minute  close every credit cycle that has ended
 *   ledger-reconcile     every hour    recompute snapshots from the ledger, repair and report drift
 *   ledger-partitions    every day     create the ledger's monthly partitions three months ahead
 *   prompt-cache-evict   every day     forget prompt-cache entries unused for seven days
 *   decision-partitions  every day     create the decision journal's day partitions three days
 *                                      ahead and drop those past the retention (given a journal),
 *                                      and delete rewards of decisions past it
 *   pantry-fill          every 2 min   queue fills for the thinnest pantry buckets
 *   bandit-rebuild       every week    recompute the bandit's statistics from the decision log
 *
 * Debits also close a due cycle themselves before spending, so correctness never waits for a job.
 */
import type PgBoss from 'pg-boss';
import type { Logger } from 'pino';
import type { DecisionJournal } from '../decision/journal.js';
import type { GenerationStore } from '../generation/store.js';
import type { Ledger } from '../ledger/ledger.js';
import { limits } from '../limits.js';
import type { Metrics } from '../metrics/metrics.js';

export const maintenanceQueues = {
  cycles: { name: 'ledger-cycles', cron: '* * * * *' },
  reconcile: { name: 'ledger-reconcile', cron: '17 * * * *' },
  partitions: { name: 'ledger-partitions', cron: '43 3 * * *' },
  promptCache: { name: 'prompt-cache-evict', cron: '11 4 * * *' },
  decisionPartitions: { name: 'decision-partitions', cron: '53 3 * * *' },
  pantryFill: { name: 'pantry-fill', cron: '*/2 * * * *' },
  banditRebuild: { name: 'bandit-rebuild', cron: '37 4 * * 1' },
} as const;

/** Months of ledger partitions kept ready ahead of time. */
export const partitionMonthsAhead = 3;
/** Days of decision partitions kept ready: a job that fails for two nights still leaves today's. */
export const decisionPartitionDaysAhead = 3;

/** Schedules the maintenance jobs on the process's pg-boss (stopped with it). */
export async function startMaintenance(options: {
  boss: PgBoss;
  ledger: Ledger;
  generations: GenerationStore;
  metrics: Metrics;
  log: Logger;
  journal?: DecisionJournal;
  /** Queues fills for the buckets with the largest coverage deficit. */
  pantry?: { run(): Promise<unknown> };
  /** Deletes rewards of decisions past the journal's retention. */
  rewards?: { prune(keepDays: number): Promise<number> };
  /** Rebuilds the bandit's live statistics from the decision log. */
  bandit?: { rebuild(): Promise<unknown> };
}): Promise<void> {
  const { boss, ledger, generations, metrics, log, journal, pantry, rewards, bandit } = options;
  // A null handler is a job this process has nothing to run for: it is not scheduled.
  const handlers: Record<keyof typeof maintenanceQueues, (() => Promise<void>) | null> = {
    cycles: async () => {
      const result = await ledger.runCycles(Date.now());
      if (result.failed.length > 0) log.warn(result, 'credit cycles closed, but not for every account');
      else if (result.cyclesClosed > 0) log.info(result, 'credit cycles closed');
    },
    reconcile: async () => {
      const result = await ledger.reconcile();
      metrics.ledgerDriftRatio.set(result.checked === 0 ? 0 : result.drifted.length / result.checked);
      if (result.drifted.length > 0) log.error({ drifted: result.drifted.length, checked: result.checked }, 'credit snapshots drifted and were repaired');
    },
    partitions: async () => {
      const created = await ledger.ensurePartitions(partitionMonthsAhead);
      if (created > 0) log.info({ created }, 'ledger partitions created');
    },
    promptCache: async () => {
      const evicted = await generations.evictCache(limits.promptCacheUnusedMs);
      if (evicted > 0) log.info({ evicted }, 'unused prompt-cache entries forgotten');
    },
    decisionPartitions:
      journal === undefined
        ? null
        : async () => {
            const created = await journal.ensurePartitions(decisionPartitionDaysAhead);
            const dropped = await journal.dropOldPartitions(limits.decisionRetentionDays);
            const rewardsDeleted = (await rewards?.prune(limits.decisionRetentionDays)) ?? 0;
            if (created + dropped + rewardsDeleted > 0) log.info({ created, dropped, rewardsDeleted }, 'decision partitions created and dropped');
          },
    pantryFill: pantry === undefined ? null : async () => void (await pantry.run()),
    banditRebuild: bandit === undefined ? null : async () => void (await bandit.rebuild()),
  };
  for (const [key, queue] of Object.entries(maintenanceQueues) as Array<[keyof typeof maintenanceQueues, (typeof maintenanceQueues)[keyof typeof maintenanceQueues]]>) {
    const handler = handlers[key];
    if (handler === null) continue;
    await boss.createQueue(queue.name);
    await boss.schedule(queue.name, queue.cron);
    await boss.work(queue.name, async () => {
      await handler();
    });
  }
}
