/**
 * What a run stands up and tears down: one PostgreSQL (DATABASE_URL, or an embedded one in a
 * temporary directory), optionally a redis-server, Titrate servers started with `npm start`'s own
 * entry point and defaults (generation workers in-process), and the bare echo.
 *
 * The servers share one data directory, so a frame file written by one is served by every node,
 * and one JWT secret and admin token, which the run generates. Generation runs inside the server
 * as with `npm start`; the scenarios whose CPU is compared with the echo make no generations (the
 * library path, and fresh frames served from a warm prompt cache).
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { TokenAuthority } from '../../server/src/auth/token.js';
import { startEmbeddedDatabase } from '../../server/src/db/embedded.js';
import { freePort, startProcess, stopAllProcesses, stopProcess, type Managed } from './processes.js';

export type StackOptions = {
  /** Servers sharing the database (2 for the multi-node scenario, which also needs Redis). */
  servers: number;
  redis: boolean;
  /** Extra environment for every Titrate process. */
  env: Record<string, string>;
  /** Arguments for the API servers' node (e.g. `--cpu-prof`). */
  nodeArgs: string[];
  log: (line: string) => void;
};

export type Stack = {
  databaseUrl: string;
  redisUrl: string | null;
  servers: Managed[];
  adminToken: string;
  tokens: TokenAuthority;
  /** Admin API call on the first server; throws on a non-2xx answer. */
  admin: (method: string, route: string, body?: unknown) => Promise<unknown>;
  stop: () => Promise<void>;
};

const titrateEntry = ['--import', 'tsx', 'server/src/bin/titrate.ts', 'serve'];
const listening = /listening on (http:\/\/\S+)/;

/** Stacks still standing, so an interrupted run (Ctrl-C, SIGTERM) takes them down with it. */
const standing = new Set<() => Promise<void>>();

/** Stops every stack still standing; the command line calls it on SIGINT and SIGTERM. */
export async function stopAllStacks(): Promise<void> {
  // Servers first (a server still starting is not in its stack yet), then what they used.
  await stopAllProcesses();
  await Promise.all([...standing].map((stop) => stop()));
}

export async function startStack(options: StackOptions): Promise<Stack> {
  const stops: Array<() => Promise<void>> = [];
  const stop = async () => {
    standing.delete(stop);
    for (const step of stops.splice(0).reverse()) await step().catch(() => undefined);
  };
  standing.add(stop);
  try {
    const workDir = await mkdtemp(path.join(tmpdir(), 'titrate-loadtest-'));
    // PostgreSQL refuses to run as root; the embedded runner hands the directory to a plain user.
    await chmod(workDir, 0o755);
    stops.push(() => rm(workDir, { recursive: true, force: true }));
    let databaseUrl = process.env['DATABASE_URL'];
    if (databaseUrl === undefined) {
      options.log('starting an embedded PostgreSQL');
      const embedded = await startEmbeddedDatabase({ dataDir: path.join(workDir, 'db'), password: randomBytes(12).toString('hex'), log: pino({ level: 'warn' }) });
      stops.push(embedded.stop);
      databaseUrl = embedded.url;
    }
    let redisUrl: string | null = null;
    if (options.redis) {
      redisUrl = process.env['REDIS_URL'] ?? (await startRedis(stops));
    }
    const jwtSecret = randomBytes(32).toString('base64url');
    const adminToken = randomBytes(24).toString('base64url');
    const env: Record<string, string> = {
      DATABASE_URL: databaseUrl, HOST: '127.0.0.1', PORT: '0', DATA_DIR: path.join(workDir, 'data'), JWT_SECRET: jwtSecret, ADMIN_TOKEN: adminToken,
      LOG_LEVEL: 'warn', PANTRY_FILL: 'off', DEMO_FRAMES_PER_BUCKET: '2',
      // Frames nobody waits for any more are refunded within seconds, so a run's end is final.
      GEN_INBOX_HOLD_MS: '3000', GEN_SWEEP_INTERVAL_MS: '1000', GEN_DISPLAY_WINDOW_MS: '3000',
      ...(redisUrl === null ? {} : { REDIS_URL: redisUrl, REDIS_KEY_PREFIX: `lt${randomBytes(3).toString('hex')}:` }),
      ...options.env,
    };
    const servers: Managed[] = [];
    for (let index = 0; index < options.servers; index += 1) {
      options.log(`starting server ${index + 1}${index === 0 ? ' (migrates and seeds the demo pantry)' : ''}`);
      // --expose-gc lets the idle scenario read retained memory (POST /v1/admin/gc) rather than garbage.
      const server = await startProcess(`server${index + 1}`, process.execPath, ['--expose-gc', ...options.nodeArgs, ...titrateEntry], env, listening);
      stops.push(server.stop);
      servers.push(server);
    }
    const base = servers[0]!.url;
    const admin = async (method: string, route: string, body?: unknown) => {
      const response = await fetch(`${base}${route}`, {
        method, headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body),
      });
      const answer = (await response.json().catch(() => null)) as unknown;
      if (!response.ok) throw new Error(`${method} ${route} answered ${response.status}: ${JSON.stringify(answer)}`);
      return answer;
    };
    return { databaseUrl, redisUrl, servers, adminToken, tokens: new TokenAuthority(jwtSecret), admin, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

async function startRedis(stops: Array<() => Promise<void>>): Promise<string> {
  try {
    execFileSync('redis-server', ['--version'], { stdio: 'ignore' });
  } catch {
    throw new Error('the multi-node scenario needs Redis: set REDIS_URL or install redis-server (apt-get install redis-server)');
  }
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  stops.push(() => stopProcess(child));
  const url = `redis://127.0.0.1:${port}`;
  for (let attempt = 0; attempt < 100; attempt += 1) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    try {
      execFileSync('redis-cli', ['-p', String(port), 'ping'], { stdio: 'ignore' });
      return url;
    } catch {
      // not up yet
    }
  }
  throw new Error('redis-server did not start');
}

/** The bare echo, answering with `replyBytes` per message. */
export async function startEcho(replyBytes: number): Promise<Managed> {
  const echo = await startProcess('echo', process.execPath, ['--expose-gc', '--import', 'tsx', 'server/src/bin/echo.ts', '--reply-bytes', String(replyBytes)], {}, listening, 60_000);
  const stop = async () => {
    standing.delete(stop);
    await echo.stop();
  };
  standing.add(stop);
  return { ...echo, stop };
}
