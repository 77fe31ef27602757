/** The PostgreSQL pool: bounded, with statement and connect timeouts on every connection. */
import pg from 'pg';
import type { Logger } from 'pino';
import { limits } from '../limits.js';

export type Database = pg.Pool;
export type DatabaseClient = pg.PoolClient;

export function createPool(url: string, log: Logger, applicationName = 'titrate'): pg.Pool {
  const pool = new pg.Pool({
    connectionString: url,
    max: limits.databasePoolSize,
    connectionTimeoutMillis: limits.connectTimeoutMs,
    statement_timeout: limits.statementTimeoutMs,
    application_name: applicationName,
  });
  // An idle client's error (e.g. the server restarting) must not crash the process. pg-pool hangs
  // the whole client on the error, so only its message and code are logged. While the pool ends,
  // its clients' goodbyes race the server's own shutdown (an embedded one stops right after), and
  // "terminating connection" then is expected.
  pool.on('error', (error: Error & { code?: string }) => {
    const reported = { message: error.message, code: error.code };
    if (pool.ending) log.debug(reported, 'PostgreSQL client closed while the pool ends');
    else log.warn({ err: reported }, 'idle PostgreSQL client failed');
  });
  return pool;
}

/** Runs `work` in one transaction on one client, committing on success and rolling back on error. */
export async function inTransaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}
