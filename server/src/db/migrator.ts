/**
 * Schema migrations: numbered SQL files in `migrations/` (`001_tiers.sql`, …), applied in order at
 * start. Each file runs in its own transaction together with its bookkeeping row, so a file is
 * either wholly applied or not at all. A session-level advisory lock serialises concurrent starts
 * (several server or worker processes). A file that was edited after it was applied, or a database
 * that has migrations this code does not know, stops the start: both mean code and schema disagree.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type pg from 'pg';
import type { Logger } from 'pino';

export type MigrationFile = { version: number; name: string; sql: string; checksum: string };

const fileNamePattern = /^(\d{3,})_([a-z0-9_]+)\.sql$/;
/** Arbitrary constant: the advisory-lock key that all Titrate processes agree on. */
const migrationLockKey = 7_350_001;

export async function readMigrations(directory: string): Promise<MigrationFile[]> {
  const names = (await readdir(directory)).filter((name) => name.endsWith('.sql')).sort();
  const files: MigrationFile[] = [];
  for (const name of names) {
    const match = fileNamePattern.exec(name);
    if (match === null) throw new Error(`migration file name ${name} does not match NNN_name.sql`);
    const sql = await readFile(path.join(directory, name), 'utf8');
    const version = Number(match[1]);
    if (files.some((file) => file.version === version)) throw new Error(`two migrations share number ${version}`);
    files.push({ version, name, sql, checksum: createHash('sha256').update(sql).digest('hex') });
  }
  return files.sort((a, b) => a.version - b.version);
}

export async function migrate(pool: pg.Pool, directory: string, log: Logger): Promise<{ applied: string[] }> {
  const files = await readMigrations(directory);
  const client = await pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [migrationLockKey]);
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version integer PRIMARY KEY,
      name text NOT NULL,
      checksum text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now())`);
    const { rows } = await client.query<{ version: number; name: string; checksum: string }>(
      'SELECT version, name, checksum FROM schema_migrations ORDER BY version',
    );
    const known = new Map(files.map((file) => [file.version, file]));
    for (const row of rows) {
      const file = known.get(row.version);
      if (file === undefined) throw new Error(`the database has migration ${row.name}, which this code does not know`);
      if (file.checksum !== row.checksum) throw new Error(`migration ${row.name} was edited after it was applied; add a new migration instead`);
    }
    const done = new Set(rows.map((row) => row.version));
    const applied: string[] = [];
    for (const file of files.filter((candidate) => !done.has(candidate.version))) {
      await client.query('BEGIN');
      try {
        await client.query(file.sql);
        await client.query('INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)', [file.version, file.name, file.checksum]);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK');
        throw new Error(`migration ${file.name} failed: ${(error as Error).message}`);
      }
      applied.push(file.name);
      log.info({ migration: file.name }, 'migration applied');
    }
    return { applied };
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [migrationLockKey]).catch(() => undefined);
    client.release();
  }
}
