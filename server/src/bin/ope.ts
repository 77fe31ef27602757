/**
 * `npm run ope -- --policy NAME [--since DATE] [--json FILE]`: estimates a candidate policy's
 * reward and spend per decision from the decision log, before anyone ships it.
 *
 * It reads every journaled decision since DATE (default: 28 days ago) that has a propensity and a
 * counted, online reward, and evaluates the candidate with inverse-propensity (IPS),
 * self-normalised IPS and doubly robust estimators, each with a normal 95% interval
 * (server/src/bandit/ope.ts; the math is in docs/bandit.md). `--policy all` evaluates every
 * candidate.
 *
 * The database: `DATABASE_URL` when set; otherwise the embedded database of `DATA_DIR` — the
 * running server's (its port is in PostgreSQL's own `postmaster.pid`), or, with no server
 * running, one started for the run and stopped after it.
 *
 * Exit codes: 0 estimates printed; 1 no evaluable decisions or a database failure; 2 usage.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { pino } from 'pino';
import { candidateNamed, candidateNames, evaluate, type Estimate, type LoggedDecision, type OpeResult } from '../bandit/ope.js';
import { ConfigError, loadConfig } from '../config.js';
import { startEmbeddedDatabase } from '../db/embedded.js';
import { limits } from '../limits.js';
import { defaultSettings, policyPMax } from '../titration/controller.js';
import { policyNames, type PolicyName } from '../titration/policies.js';
import { loadSecrets } from '../secrets.js';

const usage = `usage: npm run ope -- --policy NAME [--since YYYY-MM-DD] [--json FILE]
  NAME is one of ${candidateNames.join(', ')}, or all`;

class UsageError extends Error {}

type Options = { policies: string[]; since: Date; json: string | undefined };

function parseOptions(args: string[], now: Date): Options {
  let values: { policy?: string; since?: string; json?: string; help?: boolean };
  try {
    ({ values } = parseArgs({ args, options: { policy: { type: 'string' }, since: { type: 'string' }, json: { type: 'string' }, help: { type: 'boolean' } }, strict: true }));
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  if (values.help === true) throw new UsageError('');
  if (values.policy === undefined) throw new UsageError('--policy is required');
  const policies = values.policy === 'all' ? [...candidateNames] : [values.policy];
  for (const policy of policies) if (!(candidateNames as readonly string[]).includes(policy)) throw new UsageError(`unknown policy "${policy}"`);
  const since = values.since === undefined ? new Date(now.getTime() - limits.banditRebuildDays * 86_400_000) : new Date(values.since);
  if (Number.isNaN(since.getTime())) throw new UsageError(`--since "${values.since}" is not a date (YYYY-MM-DD or an ISO time)`);
  return { policies, since, json: values.json };
}

/** The running server's embedded database port, from PostgreSQL's lock file, or null when none runs. */
async function runningPort(databaseDir: string): Promise<number | null> {
  const lock = await readFile(path.join(databaseDir, 'postmaster.pid'), 'utf8').catch(() => null);
  const port = Number(lock?.split('\n')[3]);
  return Number.isInteger(port) && port > 0 ? port : null;
}

async function connect(): Promise<{ pool: pg.Pool; close: () => Promise<void> }> {
  const config = loadConfig(process.env, process.cwd());
  if (config.databaseUrl !== undefined) {
    const pool = new pg.Pool({ connectionString: config.databaseUrl, max: 1 });
    return { pool, close: () => pool.end() };
  }
  const secrets = await loadSecrets(config.dataDir, { jwtSecret: config.jwtSecret, adminToken: config.adminToken });
  const port = await runningPort(path.join(config.dataDir, 'postgres'));
  if (port !== null) {
    const pool = new pg.Pool({ connectionString: `postgres://postgres:${encodeURIComponent(secrets.databasePassword)}@127.0.0.1:${port}/postgres`, max: 1 });
    return { pool, close: () => pool.end() };
  }
  const embedded = await startEmbeddedDatabase({ dataDir: config.dataDir, password: secrets.databasePassword, log: pino({ level: 'warn' }) });
  const pool = new pg.Pool({ connectionString: embedded.url, max: 1 });
  return {
    pool,
    close: async () => {
      await pool.end();
      await embedded.stop();
    },
  };
}

/** The evaluable log: decisions with a propensity and a counted, online reward. */
export async function loadDecisions(pool: pg.Pool, since: Date): Promise<LoggedDecision[]> {
  const { rows } = await pool.query<{ policy: string; segment: string; source: 'fresh' | 'library'; p: number; multiplier: number; eligible: boolean; reward: number; charged: number }>(
    `SELECT d.policy, d.segment, d.source, d.p,
            CASE WHEN d.bandit->>'mode' = 'on' THEN (d.bandit->>'multiplier')::float8 ELSE 1 END AS multiplier,
            coalesce(d.eligible, false) AS eligible, r.reward::int AS reward, d.charged
       FROM decisions d JOIN decision_rewards r ON r.decision_id = d.id AND r.decided_at = d.ts
      WHERE d.ts >= $1 AND d.propensity IS NOT NULL AND d.segment IS NOT NULL AND NOT r.offline
      ORDER BY d.ts DESC
      LIMIT $2`,
    [since.toISOString(), limits.opeDecisionsMax],
  );
  if (rows.length === limits.opeDecisionsMax) {
    process.stderr.write(`note: only the newest ${limits.opeDecisionsMax} decisions since ${since.toISOString()} are read; pass a later --since to cover a whole period\n`);
  }
  return rows.map((row) => ({
    segment: row.segment, arm: row.source, pFresh: row.p, multiplier: row.multiplier, eligible: row.eligible, reward: row.reward, charged: row.charged,
    pMax: (policyNames as readonly string[]).includes(row.policy) ? policyPMax(row.policy as PolicyName, defaultSettings) : 1,
  }));
}

const format = (estimate: Estimate | null, digits = 4) =>
  estimate === null ? 'n/a' : `${estimate.value.toFixed(digits)}  [${estimate.low.toFixed(digits)}, ${estimate.high.toFixed(digits)}]`;

export function report(result: OpeResult): string {
  return [
    `policy ${result.policy}: ${result.decisions} decisions, effective sample size ${result.effectiveSampleSize.toFixed(0)}, largest weight ${result.maxWeight.toFixed(2)}` +
      (result.unidentifiable > 0 ? `, ${result.unidentifiable} unidentifiable (the log never chose what this policy would)` : ''),
    `  logged (on-policy)   reward/decision ${result.logged.reward.toFixed(4)}   credits/decision ${result.logged.spend.toFixed(4)}`,
    `  estimator            reward/decision [95% interval]          credits/decision [95% interval]`,
    `  IPS                  ${format(result.ips.reward).padEnd(40)}${format(result.ips.spend)}`,
    `  self-normalised IPS  ${format(result.snips.reward).padEnd(40)}${format(result.snips.spend)}`,
    `  doubly robust        ${format(result.dr.reward).padEnd(40)}${format(result.dr.spend)}`,
    `  reward per credit    ${format(result.rewardPerCredit)}`,
    `  lift per credit      ${format(result.liftPerCredit)}  (reward bought over the library frame)`,
  ].join('\n');
}

async function main(): Promise<number> {
  let options: Options;
  try {
    options = parseOptions(process.argv.slice(2), new Date());
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`${error.message === '' ? '' : `${error.message}\n`}${usage}\n`);
      return 2;
    }
    throw error;
  }
  let database: Awaited<ReturnType<typeof connect>>;
  try {
    database = await connect();
  } catch (error) {
    process.stderr.write(`${error instanceof ConfigError ? error.message : `cannot reach the database: ${error instanceof Error ? error.message : String(error)}`}\n`);
    return error instanceof ConfigError ? 2 : 1;
  }
  try {
    const decisions = await loadDecisions(database.pool, options.since);
    if (decisions.length === 0) {
      process.stderr.write(`no evaluable decisions since ${options.since.toISOString()} (decisions need a propensity and a counted beacon)\n`);
      return 1;
    }
    const results = options.policies.map((name) => evaluate(decisions, candidateNamed(name, decisions)!));
    process.stdout.write(`Off-policy evaluation of ${decisions.length} decisions since ${options.since.toISOString()}\n\n${results.map(report).join('\n\n')}\n`);
    if (options.json !== undefined) await writeFile(options.json, `${JSON.stringify({ since: options.since.toISOString(), results }, null, 2)}\n`);
    return 0;
  } finally {
    await database.close();
  }
}

if (process.argv[1] !== undefined && import.meta.url.endsWith(path.basename(process.argv[1]))) {
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`ope failed: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    },
  );
}
