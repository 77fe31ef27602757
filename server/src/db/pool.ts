/** The PostgreSQL pool: bounded, with statement and connect timeouts on every connection. */
import pg from 'pg';
import type { Logger } from 'pino';
import { limits } from '../limits.js';

export type Database = pg.Pool;
export type DatabaseClient = pg.PoolClient;

export type PoolSettings = {
  applicationName: string;
  max: number;
  /**
   * Commit without waiting for the WAL to reach the disk (`synchronous_commit = off` on every
   * connection): only for writes whose loss on a crash of the database is acceptable, never for
   * money. Such a crash may lose what was committed in up to three times `wal_writer_delay` before
   * it (600 ms by default); visibility to other connections is the same as ever.
   */
  asynchronousCommit: boolean;
};

const mainPool: PoolSettings = { applicationName: 'titrate', max: limits.databasePoolSize, asynchronousCommit: false };

export function createPool(url: string, log: Logger, settings: Partial<PoolSettings> = {}): pg.Pool {
  const { applicationName, max, asynchronousCommit } = { ...mainPool, ...settings };
  const pool = new pg.Pool({
    connectionString: url,
    max,
    connectionTimeoutMillis: limits.connectTimeoutMs,
    statement_timeout: limits.statementTimeoutMs,
    application_name: applicationName,
    // In the startup packet, so no query waits for it. `options` in the database URL replaces this
    // one (the URL's parameters win in pg): those connections then commit synchronously, which is
    // only slower.
    ...(asynchronousCommit ? { options: '-c synchronous_commit=off' } : {}),
  });
  if (asynchronousCommit && urlSetsOptions(url)) {
    log.warn({ pool: applicationName }, 'the database URL sets its own `options`, which replace this pool\'s synchronous_commit=off');
  }
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

/** Whether a database URL carries an `options` parameter of its own. */
function urlSetsOptions(url: string): boolean {
  const query = url.indexOf('?');
  return query !== -1 && new URLSearchParams(url.slice(query + 1)).has('options');
}

/**
 * Times every client `pool` hands out, its own `query` calls' included (pg-pool's `query` takes its
 * client through `connect`): `onAcquired` gets the seconds from asking to having a client, or to
 * the refusal when none came in time.
 */
export function timeAcquisitions(pool: pg.Pool, onAcquired: (waitedSeconds: number) => void): void {
  const connect = pool.connect.bind(pool);
  // A measurement must never cost a query its client: whatever `onAcquired` does, the caller gets it.
  const report = (started: number) => {
    try {
      onAcquired((performance.now() - started) / 1000);
    } catch {
      // The wait goes unreported.
    }
  };
  pool.connect = ((callback?: (error: Error | undefined, client: pg.PoolClient | undefined, release: (release?: unknown) => void) => void) => {
    const started = performance.now();
    if (typeof callback !== 'function') {
      return connect().then(
        (client) => (report(started), client),
        (error: unknown) => {
          report(started);
          throw error;
        },
      );
    }
    connect((error, client, release) => {
      report(started);
      callback(error, client, release);
    });
    return undefined;
  }) as pg.Pool['connect'];
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
