import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pino } from 'pino';
import t, { type Test } from 'tap';
import { createPool } from '../src/db/pool.js';
import { migrate, readMigrations } from '../src/db/migrator.js';
import { repositoryRoot } from '../src/main.js';
import { testDatabaseUrl } from './support/services.js';

const log = pino({ level: 'silent' });

async function poolFor(t: Test) {
  const pool = createPool(await testDatabaseUrl(t), log);
  t.teardown(() => pool.end());
  return pool;
}

/** The test's directory of the given migration files, removed when the test ends (a second call in one test replaces the first's). */
function migrationsDir(t: Test, files: Record<string, string>): string {
  return t.testdir(files);
}

t.test('the project migrations apply to an empty database, and a second run applies nothing', async (t) => {
  const pool = await poolFor(t);
  const directory = path.join(repositoryRoot, 'migrations');
  const first = await migrate(pool, directory, log);
  t.same(first.applied, (await readMigrations(directory)).map((file) => file.name));
  t.ok(first.applied.length >= 3);
  const { rows } = await pool.query(`SELECT table_name FROM information_schema.tables WHERE table_name IN ('tiers', 'users', 'frames') ORDER BY 1`);
  t.same(rows.map((row) => row.table_name), ['frames', 'tiers', 'users']);
  t.same((await migrate(pool, directory, log)).applied, []);
});

t.test('concurrent starts apply each migration exactly once', async (t) => {
  const pool = await poolFor(t);
  const directory = path.join(repositoryRoot, 'migrations');
  const results = await Promise.all([migrate(pool, directory, log), migrate(pool, directory, log), migrate(pool, directory, log)]);
  const total = results.reduce((sum, result) => sum + result.applied.length, 0);
  t.equal(total, (await readMigrations(directory)).length);
});

t.test('a failing migration leaves nothing behind and stops the start', async (t) => {
  const pool = await poolFor(t);
  const directory = migrationsDir(t, {
    '001_good.sql': 'CREATE TABLE good (id int);',
    '002_bad.sql': 'CREATE TABLE half (id int); SELECT no_such_function();',
  });
  await t.rejects(migrate(pool, directory, log), { message: /migration 002_bad.sql failed/ });
  const { rows } = await pool.query(`SELECT to_regclass('good') AS good, to_regclass('half') AS half`);
  t.same(rows[0], { good: 'good', half: null });
});

t.test('a migration edited after it was applied is refused', async (t) => {
  const pool = await poolFor(t);
  const directory = migrationsDir(t, { '001_one.sql': 'CREATE TABLE one (id int);' });
  await migrate(pool, directory, log);
  await writeFile(path.join(directory, '001_one.sql'), 'CREATE TABLE one (id bigint);');
  await t.rejects(migrate(pool, directory, log), { message: /001_one.sql was edited after it was applied/ });
});

t.test('a database with migrations this code does not know is refused', async (t) => {
  const pool = await poolFor(t);
  await migrate(pool, migrationsDir(t, { '001_one.sql': 'SELECT 1;', '002_two.sql': 'SELECT 2;' }), log);
  await t.rejects(migrate(pool, migrationsDir(t, { '001_one.sql': 'SELECT 1;' }), log), { message: /002_two.sql, which this code does not know/ });
});

t.test('badly named or duplicate-numbered files are refused', async (t) => {
  await t.rejects(readMigrations(migrationsDir(t, { 'one.sql': 'SELECT 1;' })), { message: /does not match/ });
  await t.rejects(readMigrations(migrationsDir(t, { '001_a.sql': 'SELECT 1;', '0001_b.sql': 'SELECT 1;' })), { message: /share number 1/ });
});
