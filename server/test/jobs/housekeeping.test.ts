import PgBoss from 'pg-boss';
import { pino } from 'pino';
import t from 'tap';
import { JobHousekeeping } from '../../src/jobs/housekeeping.js';
import { testDatabaseUrl } from '../support/services.js';

t.test("a cron schedule's job is sent by the housekeeping thread while the serving pg-boss only sends and works", async (t) => {
  const databaseUrl = await testDatabaseUrl(t);
  const boss = new PgBoss({ connectionString: databaseUrl, schema: 'pgboss', max: 2, schedule: false, supervise: false });
  await boss.start();
  t.teardown(() => boss.stop({ graceful: false, wait: true }));
  await boss.createQueue('every-minute');
  await boss.schedule('every-minute', '* * * * *');

  // pg-boss notes when it last looked at its schedules; the serving pg-boss never does.
  const lastCronLook = async () => (await boss.getDb().executeSql('SELECT cron_on FROM pgboss.version', [])).rows[0]!.cron_on as Date | null;
  await new Promise((resolve) => setTimeout(resolve, 1000));
  t.equal(await lastCronLook(), null, 'the serving pg-boss keeps no time');

  const housekeeping = await JobHousekeeping.start({ databaseUrl, schema: 'pgboss', applicationName: 'titrate-test-housekeeping' }, pino({ level: 'silent' }));
  t.teardown(() => housekeeping.stop());
  t.equal(housekeeping.state, 'running');
  let sent = 0;
  // A due schedule is sent at the thread's first look, then moved into its queue within pg-boss's polling interval.
  for (let waited = 0; waited < 30_000 && sent === 0; waited += 250) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    sent = await boss.getQueueSize('every-minute');
  }
  t.equal(sent, 1, "the schedule's job is in its queue, once");
  t.ok((await lastCronLook()) instanceof Date, 'the thread looked at the schedules');
  const [first, second] = [housekeeping.stop(), housekeeping.stop()];
  t.equal(first, second, 'two callers wait for one stop');
  await first;
  t.equal(housekeeping.state, 'stopped', 'the thread stopped');
});

t.test('a thread that cannot start its pg-boss fails the start with the reason', async (t) => {
  const log = pino({ level: 'silent' });
  await t.rejects(
    JobHousekeeping.start({ databaseUrl: 'postgres://nobody:wrong@127.0.0.1:1/none', schema: 'pgboss', applicationName: 'titrate-test-housekeeping' }, log),
    /exited \(1\) before it started: could not start: .*(ECONNREFUSED|connect)/,
  );
});
