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

  // Without the thread nothing sends the schedule's job.
  await new Promise((resolve) => setTimeout(resolve, 1500));
  t.equal(await boss.getQueueSize('every-minute'), 0, 'the serving pg-boss keeps no time');

  const housekeeping = await JobHousekeeping.start({ databaseUrl, schema: 'pgboss', applicationName: 'titrate-test-housekeeping' }, pino({ level: 'silent' }));
  t.equal(housekeeping.state, 'running');
  let sent = 0;
  // A due schedule is sent at the thread's first look, then moved into its queue within pg-boss's polling interval.
  for (let waited = 0; waited < 30_000 && sent === 0; waited += 250) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    sent = await boss.getQueueSize('every-minute');
  }
  t.equal(sent, 1, "the schedule's job is in its queue, once");
  await housekeeping.stop();
  t.equal(housekeeping.state, 'stopped', 'the thread stopped');
  await housekeeping.stop();
  t.equal(housekeeping.state, 'stopped', 'stopping twice is stopping once');
});

t.test('a thread that cannot start its pg-boss fails the start with the reason', async (t) => {
  const log = pino({ level: 'silent' });
  await t.rejects(
    JobHousekeeping.start({ databaseUrl: 'postgres://nobody:wrong@127.0.0.1:1/none', schema: 'pgboss', applicationName: 'titrate-test-housekeeping' }, log),
    /exited \(1\) before it started: could not start: .*(ECONNREFUSED|connect)/,
  );
});
