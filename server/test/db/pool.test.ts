import pg from 'pg';
import t from 'tap';
import { pino } from 'pino';
import { createPool, timeAcquisitions } from '../../src/db/pool.js';
import { createMetrics } from '../../src/metrics/metrics.js';
import { testDatabaseUrl } from '../support/services.js';

t.test('an evidence pool commits without waiting for the WAL flush, and the main pool waits for it', async (t) => {
  const url = await testDatabaseUrl(t);
  const log = pino({ level: 'silent' });
  const main = createPool(url, log);
  const evidence = createPool(url, log, { applicationName: 'titrate-evidence', max: 2, asynchronousCommit: true });
  t.teardown(() => Promise.all([main.end(), evidence.end()]));
  const settingOf = async (pool: pg.Pool) =>
    (await pool.query<{ commit: string; name: string }>(`SELECT current_setting('synchronous_commit') AS commit, current_setting('application_name') AS name`)).rows[0];
  t.same(await settingOf(main), { commit: 'on', name: 'titrate' });
  t.same(await settingOf(evidence), { commit: 'off', name: 'titrate-evidence' });
  t.equal(evidence.options.max, 2);
});

t.test('options in the database URL are kept, and the evidence pool warns that they replace its asynchronous commit', async (t) => {
  const url = new URL(await testDatabaseUrl(t));
  url.searchParams.set('options', '-c lock_timeout=1234');
  const warnings: unknown[] = [];
  const log = pino({ level: 'warn' }, { write: (line: string) => warnings.push(JSON.parse(line)) });
  const evidence = createPool(url.toString(), log, { applicationName: 'titrate-evidence', max: 1, asynchronousCommit: true });
  t.teardown(() => evidence.end());
  const { rows } = await evidence.query<{ commit: string; lock: string }>(`SELECT current_setting('synchronous_commit') AS commit, current_setting('lock_timeout') AS lock`);
  t.same(rows[0], { commit: 'on', lock: '1234ms' });
  t.match(warnings, [{ pool: 'titrate-evidence', msg: /sets its own `options`, which replace/ }]);
});

t.test('a query that waits for the only client of a pool is timed from asking to having it', async (t) => {
  const pool = new pg.Pool({ connectionString: await testDatabaseUrl(t), max: 1 });
  t.teardown(() => pool.end());
  const waits: number[] = [];
  timeAcquisitions(pool, (seconds) => waits.push(seconds));

  (await pool.connect()).release();
  const held = await pool.connect();
  t.equal(waits.length, 2, 'the promise form is timed');
  const query = pool.query('SELECT 1 AS one');
  await new Promise((resolve) => setTimeout(resolve, 60));
  t.equal(pool.waitingCount, 1, 'the query waits for the held client');
  held.release();
  t.same((await query).rows, [{ one: 1 }]);
  t.equal(waits.length, 3, 'pool.query takes its client through connect, so it is timed too');
  t.ok(waits[2]! >= 0.05, `the query waited while the client was held (${waits[2]} s)`);
  t.ok(waits[1]! < 0.05, `the idle client was handed out at once (${waits[1]} s)`);
});

t.test('a pool that gives no client in time reports the wait as well as the refusal', async (t) => {
  const pool = new pg.Pool({ connectionString: await testDatabaseUrl(t), max: 1 });
  t.teardown(() => pool.end());
  const waits: number[] = [];
  timeAcquisitions(pool, (seconds) => waits.push(seconds));
  const held = await pool.connect();
  t.teardown(() => held.release());
  // Short only once the one client is open, so opening it is not what times out.
  pool.options.connectionTimeoutMillis = 50;
  await t.rejects(pool.connect(), /timeout/i);
  await t.rejects(pool.query('SELECT 1'), /timeout/i);
  t.equal(waits.length, 3);
  t.ok(waits.slice(1).every((seconds) => seconds >= 0.04), `both refusals came after the timeout (${waits.join(', ')})`);
});

t.test('the pool gauge reads each watched pool at the scrape', async (t) => {
  const metrics = createMetrics();
  metrics.pools.set('main', { totalCount: 4, idleCount: 1, waitingCount: 7 });
  const text = await metrics.registry.metrics();
  t.match(text, /titrate_db_pool_clients\{pool="main",state="total"\} 4/);
  t.match(text, /titrate_db_pool_clients\{pool="main",state="idle"\} 1/);
  t.match(text, /titrate_db_pool_clients\{pool="main",state="waiting"\} 7/);
});

t.test('a measurement that throws costs no query its client', async (t) => {
  const pool = new pg.Pool({ connectionString: await testDatabaseUrl(t), max: 1 });
  t.teardown(() => pool.end());
  timeAcquisitions(pool, () => {
    throw new Error('a broken metric');
  });
  t.same((await pool.query('SELECT 2 AS two')).rows, [{ two: 2 }]);
  const client = await pool.connect();
  client.release();
  t.same((await pool.query('SELECT 3 AS three')).rows, [{ three: 3 }], 'the client went back to the pool');
});
