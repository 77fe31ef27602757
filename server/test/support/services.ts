/**
 * Real services for integration tests, started once per `npm test` by scripts/test.ts: each test
 * file gets its own PostgreSQL database and its own Redis key prefix, torn down with the test.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { Test } from 'tap';

function required(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') {
    throw new Error(`${name} is not set: run the tests with "npm test", which starts PostgreSQL and Redis for them`);
  }
  return value;
}

/** A fresh, empty database; dropped when the test ends. */
export async function testDatabaseUrl(t: Test): Promise<string> {
  const serverUrl = required('TITRATE_TEST_DATABASE_URL');
  const name = `t_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  t.teardown(async () => {
    const dropper = new pg.Client({ connectionString: serverUrl });
    await dropper.connect();
    // A pool's `end` resolves once it has asked its clients to close, not once they have: a forced
    // drop then would terminate a backend still closing, and its client would report the
    // termination as an error of the test. So the drop waits (a little) for them to leave.
    for (let attempt = 0; attempt < 100; attempt += 1) {
      const { rows } = await dropper.query<{ connected: number }>(`SELECT count(*)::int AS connected FROM pg_stat_activity WHERE datname = $1`, [name]);
      if (rows[0]!.connected === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await dropper.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await dropper.end();
  });
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

export function testRedisUrl(): string {
  return required('TITRATE_TEST_REDIS_URL');
}

export function uniquePrefix(label: string): string {
  return `test-${label}-${randomBytes(4).toString('hex')}:`;
}

/** A temporary directory that the `postgres` user can traverse; removed when the test ends. */
export async function testDirectory(t: Test): Promise<string> {
  const base = process.env['TITRATE_TEST_TMPDIR'] ?? tmpdir();
  const directory = await mkdtemp(path.join(base, 'data-'));
  await chmod(directory, 0o755);
  // Retries: a server stopping in a sibling teardown may still be closing files in it.
  t.teardown(() => rm(directory, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 }));
  return directory;
}
