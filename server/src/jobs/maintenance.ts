/**
 * Scheduled maintenance, run by pg-boss inside PostgreSQL so that any number of server processes
 * share one schedule (pg-boss sends each cron job once, whichever process is up):
 *
 *   ledger-cycles      every minute   close every credit cycle that has ended
 *   ledger-reconcile   every hour     recompute snapshots from the ledger, repair and report drift
 *   ledger-partitions  every day      create the ledger's monthly partitions three months ahead
 *
 * Debits also close a due cycle themselves before spending, so correctness never waits for a job.
 */
import PgBoss from 'pg-boss';
import type { Logger } from 'pino';
import type { Ledger } from '../ledger/ledger.js';
import type { Metrics } from '../metrics/metrics.js';

export const maintenanceQueues = {
  cycles: { name: 'ledger-cycles', cron: '* * * * *' },
  reconcile: { name: 'ledger-reconcile', cron: '17 * * * *' },
  partitions: { name: 'ledger-partitions', cron: '43 3 * * *' },
} as const;

/** Months of ledger partitions kept ready ahead of time. */
export const partitionMonthsAhead = 3;

export type Maintenance = { stop: () => Promise<void> };

export async function startMaintenance(options: { databaseUrl: string; ledger: Ledger; metrics: Metrics; log: Logger }): Promise<Maintenance> {
  const { ledger, metrics, log } = options;
  const boss = new PgBoss({ connectionString: options.databaseUrl, schema: 'pgboss', max: 3, application_name: 'titrate-jobs' });
  boss.on('error', (error) => log.warn({ err: error }, 'job queue error'));
  await boss.start();
  const handlers: Record<keyof typeof maintenanceQueues, () => Promise<void>> = {
    cycles: async () => {
      const result = await ledger.runCycles(Date.now());
      if (result.cyclesClosed > 0) log.info(result, 'credit cycles closed');
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
  };
  for (const [key, queue] of Object.entries(maintenanceQueues) as Array<[keyof typeof maintenanceQueues, (typeof maintenanceQueues)[keyof typeof maintenanceQueues]]>) {
    await boss.createQueue(queue.name);
    await boss.schedule(queue.name, queue.cron);
    await boss.work(queue.name, async () => {
      await handlers[key]();
    });
  }
  return { stop: () => boss.stop({ graceful: true, wait: true, timeout: 5000 }) };
}
