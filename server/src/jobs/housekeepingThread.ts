/**
 * The thread of `housekeeping.ts`: a pg-boss instance that only keeps pg-boss's time (sends the
 * jobs of cron schedules when they come due) and maintains its tables. It runs no job of ours.
 * Messages to the parent: `{ kind: 'ready' }`, `{ kind: 'error', message }`, `{ kind: 'stopped' }`;
 * from it: `'stop'`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import PgBoss from 'pg-boss';

export type HousekeepingSettings = { databaseUrl: string; schema: string; applicationName: string };
export type HousekeepingReport = { kind: 'ready' } | { kind: 'stopped' } | { kind: 'error'; message: string };

const settings = workerData as HousekeepingSettings;
const report = (message: HousekeepingReport) => parentPort!.postMessage(message);

const boss = new PgBoss({
  connectionString: settings.databaseUrl,
  schema: settings.schema,
  application_name: settings.applicationName,
  max: 2,
  // The serving process created the schema; this one only keeps time and tidies.
  migrate: false,
  schedule: true,
  supervise: true,
});
boss.on('error', (error: Error) => report({ kind: 'error', message: error.message }));

parentPort!.on('message', (message: unknown) => {
  if (message !== 'stop') return;
  boss
    .stop({ graceful: true, wait: true, timeout: 5000 })
    .catch((error: unknown) => report({ kind: 'error', message: error instanceof Error ? error.message : String(error) }))
    .finally(() => {
      report({ kind: 'stopped' });
      parentPort!.close();
    });
});

boss.start().then(
  () => report({ kind: 'ready' }),
  (error: unknown) => {
    report({ kind: 'error', message: `could not start: ${error instanceof Error ? error.message : String(error)}` });
    process.exit(1);
  },
);
