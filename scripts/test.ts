/**
 * `npm test`: type-checks the project, starts the services the integration tests use — one real
 * PostgreSQL (embedded, from the same package the server uses) and one real `redis-server` — runs
 * every tap test against them, stops them, and ends with a plain `N passed, N failed` line.
 *
 * Test files get the services through TITRATE_TEST_DATABASE_URL and TITRATE_TEST_REDIS_URL; each
 * file creates its own database and Redis key prefix, so files run in parallel without sharing
 * state. Arguments are passed to tap (`npm test -- server/test/gateway.test.ts`).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { freePort, startEmbeddedDatabase } from '../server/src/db/embedded.js';

const log = pino({ level: process.env['LOG_LEVEL'] ?? 'warn' });
const root = path.resolve(import.meta.dirname, '..');

function run(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const relay = (chunk: Buffer) => {
      output += chunk.toString();
      process.stdout.write(chunk);
    };
    child.stdout.on('data', relay);
    child.stderr.on('data', relay);
    child.on('close', (code) => resolve({ code: code ?? 1, output }));
  });
}

async function startRedis(port: number): Promise<ChildProcess> {
  const found = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  if (found.error !== undefined) {
    throw new Error('redis-server is not installed; the Redis engine is tested against a real one (Debian: apt-get install redis-server)');
  }
  const redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  for (let attempt = 0; attempt < 100; attempt += 1) {
    const ping = spawnSync('redis-cli', ['-p', String(port), 'ping'], { encoding: 'utf8' });
    if (ping.stdout?.trim() === 'PONG') return redis;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  redis.kill();
  throw new Error('redis-server did not answer PING');
}

async function main(): Promise<number> {
  const started = Date.now();
  process.stdout.write('# type-checking (tsc)\n');
  const tsc = path.join(root, 'node_modules/typescript/bin/tsc');
  // The web player's page script is browser code, checked on its own (DOM types, no Node types).
  const typechecks = [await run(process.execPath, [tsc, '-p', 'tsconfig.json']), await run(process.execPath, [tsc, '-p', 'player/tsconfig.json'])];
  const typecheckPassed = typechecks.every((typecheck) => typecheck.code === 0);

  // A directory others can traverse: the embedded PostgreSQL runs as "postgres" when we are root.
  const workDir = await mkdtemp(path.join(tmpdir(), 'titrate-test-'));
  await chmod(workDir, 0o755);
  const database = await startEmbeddedDatabase({ dataDir: workDir, password: 'titrate-test-password', log });
  const redisPort = await freePort();
  const redis = await startRedis(redisPort);
  let tap: { code: number; output: string };
  try {
    const env = {
      ...process.env,
      TITRATE_TEST_DATABASE_URL: database.url,
      TITRATE_TEST_REDIS_URL: `redis://127.0.0.1:${redisPort}`,
      TITRATE_TEST_TMPDIR: workDir,
    };
    tap = await run(path.join(root, 'node_modules/.bin/tap'), process.argv.slice(2), env);
  } finally {
    redis.kill();
    await database.stop();
    await rm(workDir, { recursive: true, force: true });
  }

  const summary = /# \{ total: (\d+), pass: (\d+)(?:, fail: (\d+))?/.exec(tap.output);
  const passed = Number(summary?.[2] ?? 0) + (typecheckPassed ? 1 : 0);
  let failed = Number(summary?.[3] ?? 0) + (typecheckPassed ? 0 : 1);
  if (summary === null && tap.code !== 0) failed += 1;
  process.stdout.write(`\n# type-check ${typecheckPassed ? 'passed' : 'FAILED'}; tests took ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
  process.stdout.write(`${passed} passed, ${failed} failed\n`);
  return typecheckPassed && tap.code === 0 && failed === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`test harness failed: ${error instanceof Error ? error.stack : String(error)}\n0 passed, 1 failed\n`);
    process.exit(1);
  },
);
