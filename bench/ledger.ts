/**
 * `npm run bench:ledger [-- --seconds N --json FILE]`: ledger debits per second with 8 and 32
 * concurrent users, next to a baseline of plain single-row UPDATE transactions run by the same
 * process, on the same PostgreSQL, in the same run. Prints a table and the ratio.
 *
 * Each user debits its own account (distinct advisory locks), so the measure is the cost of a
 * debit's transaction, not lock contention. Uses DATABASE_URL when set, otherwise an embedded
 * PostgreSQL in a temporary directory.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { pino } from 'pino';
import { startEmbeddedDatabase } from '../server/src/db/embedded.js';
import { migrate } from '../server/src/db/migrator.js';
import { Ledger } from '../server/src/ledger/ledger.js';
import { repositoryRoot } from '../server/src/main.js';
import { UserDirectory } from '../server/src/users/directory.js';

const log = pino({ level: 'warn' });
const { values } = parseArgs({ options: { seconds: { type: 'string', default: '8' }, json: { type: 'string' } } });
const seconds = Number(values.seconds);

type Result = { concurrency: number; ledgerPerSecond: number; baselinePerSecond: number; ratio: number };

async function runFor(workers: number, durationMs: number, work: (worker: number, iteration: number) => Promise<void>): Promise<number> {
  const deadline = performance.now() + durationMs;
  let count = 0;
  await Promise.all(
    Array.from({ length: workers }, async (_, worker) => {
      for (let iteration = 0; performance.now() < deadline; iteration += 1) {
        await work(worker, iteration);
        count += 1;
      }
    }),
  );
  return count / (durationMs / 1000);
}

async function main(): Promise<void> {
  let stopEmbedded: (() => Promise<void>) | null = null;
  let serverUrl = process.env['DATABASE_URL'];
  let workDir: string | null = null;
  if (serverUrl === undefined) {
    workDir = await mkdtemp(path.join(tmpdir(), 'titrate-bench-'));
    await chmod(workDir, 0o755);
    const embedded = await startEmbeddedDatabase({ dataDir: workDir, password: 'bench-password-0123', log });
    serverUrl = embedded.url;
    stopEmbedded = embedded.stop;
  }
  const databaseName = `bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${databaseName}`);
  const url = new URL(serverUrl);
  url.pathname = `/${databaseName}`;
  const results: Result[] = [];
  try {
    for (const concurrency of [8, 32]) {
      const pool = new pg.Pool({ connectionString: url.toString(), max: concurrency });
      pool.on('error', () => undefined);
      try {
      await migrate(pool, path.join(repositoryRoot, 'migrations'), log);
      const users = new UserDirectory(pool);
      await users.seed();
      await users.putTier({ name: 'bench', baseQuota: 10_000_000, rolloverCap: 3, annualRolloverCap: 6, unlimited: false, regionMultipliers: {}, burstPrice: 5 });
      const ledger = new Ledger(pool, log);
      for (let index = 0; index < concurrency; index += 1) {
        await users.createUser({ id: `bench-${concurrency}-${index}`, tier: 'bench', tz: 'UTC', annual: false, team: null, region: null, anchorDay: 1 });
        await ledger.openAccount(`bench-${concurrency}-${index}`);
      }
      await pool.query(`CREATE TABLE IF NOT EXISTS bench_accounts (id int PRIMARY KEY, balance bigint NOT NULL)`);
      await pool.query(`INSERT INTO bench_accounts SELECT g, 1000000000 FROM generate_series(0, 63) g ON CONFLICT DO NOTHING`);
      const durationMs = seconds * 1000;
      // Warm both paths, then measure the baseline and the ledger back to back.
      await runFor(concurrency, 1000, (worker, iteration) => ledger.debit({ userId: `bench-${concurrency}-${worker}`, kind: 'generation', requestId: `warm-${iteration}`, amount: 1 }).then(() => undefined));
      const baselinePerSecond = await runFor(concurrency, durationMs, async (worker) => {
        const client = await pool.connect();
        try {
          await client.query('BEGIN');
          await client.query('UPDATE bench_accounts SET balance = balance - 1 WHERE id = $1', [worker]);
          await client.query('COMMIT');
        } finally {
          client.release();
        }
      });
      const ledgerPerSecond = await runFor(concurrency, durationMs, async (worker, iteration) => {
        const result = await ledger.debit({ userId: `bench-${concurrency}-${worker}`, kind: 'generation', requestId: `r-${iteration}`, amount: 1 });
        if (result.status !== 'debited') throw new Error(`debit failed: ${result.status}`);
      });
      results.push({ concurrency, ledgerPerSecond: Math.round(ledgerPerSecond), baselinePerSecond: Math.round(baselinePerSecond), ratio: Number((ledgerPerSecond / baselinePerSecond).toFixed(2)) });
      } finally {
        await pool.end();
      }
    }
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${databaseName} WITH (FORCE)`).catch(() => undefined);
    await admin.end();
    await stopEmbedded?.();
    if (workDir !== null) await rm(workDir, { recursive: true, force: true });
  }
  process.stdout.write(`ledger debits vs plain UPDATE transactions (${seconds} s each, same PostgreSQL, same process)\n`);
  process.stdout.write('concurrent users | ledger debits/s | baseline tx/s | ratio\n');
  for (const result of results) {
    process.stdout.write(`${String(result.concurrency).padStart(16)} | ${String(result.ledgerPerSecond).padStart(15)} | ${String(result.baselinePerSecond).padStart(13)} | ${result.ratio.toFixed(2)}\n`);
  }
  if (values.json !== undefined) await writeFile(values.json, `${JSON.stringify({ ledger: results }, null, 2)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
