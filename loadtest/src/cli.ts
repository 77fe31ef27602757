/**
 * `npm run bench -- [--json FILE] [--processes K] [--sessions N] [--idle N] [--seconds S] [--profile DIR]`
 *   the default suite (about five minutes on two cores): the echo and Titrate side by side (idle
 *   memory, steady latency and CPU), DJ sessions, charged fresh decisions next to single-row UPDATE
 *   transactions, a reconnect storm, and the correctness checks after every run. Prints a table
 *   and writes the JSON report.
 * `npm run loadtest -- SCENARIO [same options] [--engine memory|redis]` runs one scenario: steady,
 *   dj, reconnect, multinode (two API servers sharing PostgreSQL and Redis), charge, idle, or
 *   capacity (how many DJ sessions one node holds: steps of more users until one misses the
 *   service level, `--library-p99-ms`; `--sessions` is the ceiling, `--seconds` each step's length);
 *   `--engine redis` runs a one-server scenario on the Redis session-state engine, and
 *   `--provider remote` runs the scenarios that generate (dj, multinode, capacity) with a stand-in
 *   for a remote model instead of the local renderer in the server's process.
 *
 * Exit codes: 0 done and correct; 1 a correctness check failed or the run broke; 2 usage.
 */
import { writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { encodeMessage } from '@titrate/shared';
import pg from 'pg';
import { freshLimits } from '../../server/src/generation/fresh.js';
import { stableDiffusionSizeFor } from '../../server/src/generation/providers/sd.js';
import { artStyles, frameSizes } from '../../server/src/pantry/art.js';
import { limits } from '../../server/src/limits.js';
import { capacityOf, searchCapacity, type CapacityResult } from './capacity.js';
import { checkCorrectness, mergeCorrectness, untilQuiet, type Correctness } from './correctness.js';
import { seeded, type SessionSpec } from './driver.js';
import { cHeapBytesOf, echoUsage, serverUsage, type Managed } from './processes.js';
import { formatReport, type Report } from './report.js';
import {
  baseSpec, createUsers, generatorFor, playlist, runIdle, runPhase, withSocketsOf, runReconnect, steadySettle, updateBaseline, type PhaseResult, type RunSettings, type Target, type UpdateBaseline,
} from './scenarios.js';
import { startRemoteModel, type RemoteModel } from './remoteModel.js';
import { startEcho, startStack, stopAllStacks, type Stack } from './stack.js';

const usage = `usage: npm run bench -- [--json FILE] [--processes K] [--sessions N] [--idle N] [--seconds S] [--profile DIR] [--node-arg ARG ...]
       npm run loadtest -- steady|dj|reconnect|multinode|charge|idle|capacity [same options] [--engine memory|redis] [--provider local|remote] [--library-p99-ms MS]`;
const scenarioNames = ['bench', 'steady', 'dj', 'reconnect', 'multinode', 'charge', 'idle', 'capacity'] as const;
/** The scenarios whose sessions order fresh frames, which `--provider` chooses the maker of. */
const generatingScenarios: readonly ScenarioName[] = ['dj', 'multinode', 'capacity'];
type ScenarioName = (typeof scenarioNames)[number];

type Options = {
  scenario: ScenarioName; json?: string; processes: number; sessions: number; idle: number; seconds: number; profile?: string; nodeArgs: string[];
  /** The session-state engine of a single scenario's servers (multinode always shares Redis). */
  engine: 'memory' | 'redis';
  /** Who makes fresh frames: the local renderer in the server's process, or a stand-in for a remote model. */
  provider: 'local' | 'remote';
  /** capacity: the library frames' p99 a step must stay within (ms). */
  libraryP99MsMax: number;
};

class UsageError extends Error {}

function parseOptions(args: string[]): Options {
  let parsed;
  try {
    parsed = parseArgs({
      args, allowPositionals: true, strict: true,
      options: {
        json: { type: 'string' }, processes: { type: 'string', default: '1' }, sessions: { type: 'string', default: '2000' }, idle: { type: 'string', default: '10000' },
        seconds: { type: 'string', default: '20' }, profile: { type: 'string' }, 'node-arg': { type: 'string', multiple: true }, help: { type: 'boolean' },
        engine: { type: 'string', default: 'memory' }, provider: { type: 'string', default: 'local' }, 'library-p99-ms': { type: 'string' },
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help === true) throw new UsageError('');
  const scenario = (positionals[0] ?? 'bench') as ScenarioName;
  if (!scenarioNames.includes(scenario) || positionals.length > 1) throw new UsageError(`unknown scenario "${positionals.join(' ')}"`);
  const engine = values.engine;
  if (engine !== 'memory' && engine !== 'redis') throw new UsageError(`--engine must be memory or redis, not "${engine}"`);
  if (engine === 'redis' && scenario === 'bench') throw new UsageError('--engine is for one scenario; the bench suite runs the default memory engine');
  const provider = values.provider;
  if (provider !== 'local' && provider !== 'remote') throw new UsageError(`--provider must be local or remote, not "${provider}"`);
  if (provider === 'remote' && !generatingScenarios.includes(scenario)) throw new UsageError(`--provider is for the scenarios that generate: ${generatingScenarios.join(', ')}`);
  if (values['library-p99-ms'] !== undefined && scenario !== 'capacity') throw new UsageError('--library-p99-ms is the capacity scenario\'s service level');
  const integer = (name: string, text: string, min: number, max: number) => {
    const value = Number(text);
    if (!Number.isInteger(value) || value < min || value > max) throw new UsageError(`--${name} must be an integer from ${min} to ${max}`);
    return value;
  };
  return {
    scenario, json: values.json, profile: values.profile, nodeArgs: values['node-arg'] ?? [], engine, provider,
    processes: integer('processes', values.processes, 0, 16),
    sessions: integer('sessions', values.sessions, 1, 20_000),
    idle: integer('idle', values.idle, 1, 20_000),
    seconds: integer('seconds', values.seconds, 5, 3_600),
    libraryP99MsMax: integer('library-p99-ms', values['library-p99-ms'] ?? '100', 1, 60_000),
  };
}

const log = (line: string) => process.stderr.write(`# ${line}\n`);

/** Node options for the servers: a CPU profile with `--profile DIR`, and any `--node-arg`. */
function serverNodeArgs(options: Options): string[] {
  return [...(options.profile === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${options.profile}`]), ...options.nodeArgs];
}

/** What the echo answers with: the size of a typical `frame` message. */
export function frameMessageBytes(): number {
  const id = '3f2c9a4e-8d1b-4c7e-9a55-0b6d2e7f1a93';
  return (encodeMessage({
    t: 'frame', id, req: 'p0a1.2f______________', source: 'library', frameId: id, url: `/v1/frames/${id}`, width: 1920, height: 1080, orientation: 'landscape',
    fallback: 'exact', charged: 0, p: 0.231, balance: { available: 412, used: 188, rollover: 0, cycleEnd: '2026-12-01T00:00:00.000Z' }, mix: { fresh: 3, library: 14 },
  }, 'msgpack') as Uint8Array).byteLength;
}

const titrateTarget = (stack: Stack): Target => ({
  urls: stack.servers.map((server) => server.url), kind: 'titrate',
  usage: (collect) =>
    Promise.all(stack.servers.map(async (server) => ({ ...(await serverUsage(server.url, collect === true ? { adminToken: stack.adminToken } : undefined)), cHeapBytes: cHeapBytesOf(server.pid) }))),
});
const echoTarget = (echo: Managed): Target => ({ urls: [echo.url], kind: 'echo', usage: async (collect) => [{ ...(await echoUsage(echo.url, collect === true)), cHeapBytes: cHeapBytesOf(echo.pid) }] });

async function setUpTiers(stack: Stack): Promise<void> {
  await stack.admin('PUT', '/v1/admin/tiers/lt-library', { baseQuota: 0 });
  await stack.admin('PUT', '/v1/admin/tiers/lt-dj', { baseQuota: 3_000, burstPrice: 5 });
  await stack.admin('PUT', '/v1/admin/tiers/lt-charge', { baseQuota: 1_000_000, burstPrice: 1 });
}

const issuer = (stack: Stack) => (userId: string) => stack.tokens.issue(userId, 6 * 3600);

/** Library-only users (a tier without credits): every decision is the library path. */
async function steadySpecs(stack: Stack, prefix: string, sessions: number, devicesPerUser: number, random: () => number, mode: SessionSpec['mode']): Promise<SessionSpec[]> {
  const users = await createUsers(stack.admin, issuer(stack), prefix, Math.ceil(sessions / devicesPerUser), 'lt-library');
  return Array.from({ length: sessions }, (_, index) => ({
    ...baseSpec(users[index % users.length]!, `device-${Math.floor(index / users.length)}`, 'landscape', playlist(random, 1, 0.6)),
    mode,
    intervalMs: [900, 1100] as [number, number],
  }));
}

async function djSpecs(stack: Stack, prefix: string, users: number, random: () => number): Promise<SessionSpec[]> {
  const created = await createUsers(stack.admin, issuer(stack), prefix, users, 'lt-dj');
  const orientations = ['landscape', 'portrait', 'square'] as const;
  return created.flatMap((user, index) =>
    Array.from({ length: 3 }, (_, device) => ({
      ...baseSpec(user, `deck-${device}`, orientations[(index + device) % 3]!, playlist(random, 12)),
      intervalMs: [1000, 2000] as [number, number],
      contextEvery: 4 + Math.floor(random() * 5),
      likeShare: 0.05,
      lifetimeMs: [15_000, 45_000] as [number, number],
      // One user in twelve buys bursts: each of their short sessions buys (or extends) one.
      burst: index % 12 === 0 && device === 0,
    })),
  );
}

/** Fills the prompt cache of one context with every variant it keeps, so charged decisions that follow are served at once. */
async function warmPromptCache(stack: Stack, settings: RunSettings, prefix: string, context: { genre: string; mood: string; energy: number }): Promise<void> {
  const [user] = await createUsers(stack.admin, issuer(stack), prefix, 1, 'lt-charge');
  const target = titrateTarget(stack);
  const client = new pg.Client({ connectionString: stack.databaseUrl });
  await client.connect();
  // One session, in this process.
  const generator = await generatorFor(target, { ...settings, processes: 0 }, `${prefix}g`);
  try {
    const spec: SessionSpec = { ...baseSpec(user!, 'warm', 'landscape', [context]), mode: 'closed', rateMax: 20, burst: true, beacons: false };
    await generator.add([spec]);
    const deadline = Date.now() + 300_000;
    // The art style rotates frame by frame: every style's prompt needs all its variants.
    for (;;) {
      const { rows } = await client.query<{ full: string }>(
        `SELECT count(*) AS full FROM (SELECT c.prompt_key FROM prompt_cache c JOIN generations g ON g.prompt_hash = c.prompt_hash AND NOT g.cache_hit
          WHERE g.user_id = $1 GROUP BY c.prompt_key HAVING count(*) >= $2) keys`,
        [user!.id, freshLimits.promptVariantsMax],
      );
      if (Number(rows[0]!.full) >= artStyles.length) break;
      if (Date.now() > deadline) throw new Error('the prompt cache did not fill in 5 minutes');
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    await generator.stopSending();
    await new Promise((resolve) => setTimeout(resolve, 500));
  } finally {
    await generator.close();
    await client.end();
  }
}

/**
 * Charged decisions next to the UPDATE baseline. The baseline runs before the charged sessions and
 * again after them, and the better of the two counts: a spell of a slow disk or a busy neighbour
 * during one reading would otherwise make the ratio look better than the server is.
 */
async function chargeScenario(stack: Stack, settings: RunSettings, options: Options): Promise<{ charge: PhaseResult; updateBaseline: UpdateBaseline }> {
  const context = { genre: 'techno', mood: 'energetic', energy: 0.9 };
  log('charge: filling the prompt cache of one context');
  await warmPromptCache(stack, settings, 'lt-w-', context);
  log(`charge: single-row UPDATE baseline with ${limits.databasePoolSize} clients`);
  const before = await updateBaseline(stack.databaseUrl, limits.databasePoolSize, 10);
  const users = await createUsers(stack.admin, issuer(stack), 'lt-c-', 200, 'lt-charge');
  const specs = users.map((user): SessionSpec => ({ ...baseSpec(user, 'charge', 'landscape', [context]), mode: 'closed', rateMax: 30, burst: true, beacons: false }));
  log(`charge: ${specs.length} sessions asking fresh frames back to back`);
  const charge = await runPhase(titrateTarget(stack), settings, 'c', specs, { warmupSeconds: 3, seconds: Math.min(15, options.seconds), drainMs: 30_000 });
  log('charge: the UPDATE baseline again');
  const after = await updateBaseline(stack.databaseUrl, limits.databasePoolSize, 10);
  const runs = [before.transactionsPerSecond, after.transactionsPerSecond];
  return { charge, updateBaseline: { clients: before.clients, transactionsPerSecond: Math.max(...runs), runs } };
}

/** A remote model's answer time in the `--provider remote` runs: a fast hosted model's. */
const remoteModelLatencyMs = [1_000, 3_000] as const;
/** Generation slots per server with a remote model: they wait on the network, not on the node's CPU. */
const remoteModelSlots = 16;

/** Who makes fresh frames: the servers' environment for it, and the stand-in for a remote model (to stop after the run). */
async function providerOf(options: Options): Promise<{ env: Record<string, string>; model: RemoteModel | null }> {
  if (options.provider === 'local') return { env: {}, model: null };
  const sizes = Object.values(frameSizes).map((size) => stableDiffusionSizeFor(size.width, size.height));
  const model = await startRemoteModel({ latencyMs: remoteModelLatencyMs, sizes });
  log(`a stand-in for a remote model at ${model.url}, answering in ${remoteModelLatencyMs[0]}–${remoteModelLatencyMs[1]} ms`);
  return { env: { GEN_PROVIDER: 'sd', SD_BASE_URL: model.url, GEN_WORKERS: String(remoteModelSlots) }, model };
}

/** Steps of DJ users (three devices each) until one misses the service level; see capacity.ts. */
async function capacityScenario(stack: Stack, settings: RunSettings, options: Options, random: () => number): Promise<{ capacity: CapacityResult; unanswered: number }> {
  const level = { libraryP99MsMax: options.libraryP99MsMax };
  const search = { startUsers: 20, maxUsers: Math.max(1, Math.floor(options.sessions / 3)), refinements: 2 };
  log(`capacity: DJ users from ${search.startUsers} up to ${search.maxUsers}, ${options.seconds} s a step, library p99 within ${level.libraryP99MsMax} ms`);
  const client = new pg.Client({ connectionString: stack.databaseUrl });
  await client.connect();
  try {
    const steps = await searchCapacity(search, level, async (users, index) => {
      const specs = await djSpecs(stack, `lt-k-${index}-`, users, random);
      const phase = await runPhase(titrateTarget(stack), settings, `k${index}`, specs, { warmupSeconds: 5, seconds: options.seconds, drainMs: 60_000 });
      // Each step starts on a quiet node: none of the fresh frames ordered before is still being made.
      const open = await untilQuiet(client, 'lt-k-', 180_000);
      if (open > 0) log(`capacity: ${open} generations still open after the step; the next step starts with them`);
      return phase;
    }, log);
    const capacity: CapacityResult = { level, provider: options.provider, secondsPerStep: options.seconds, steps, ...capacityOf(steps) };
    return { capacity, unanswered: steps.reduce((total, step) => total + step.unanswered, 0) };
  } finally {
    await client.end();
  }
}

async function correctnessOf(stack: Stack, prefix: string, unanswered: number): Promise<Correctness> {
  return checkCorrectness({ databaseUrl: stack.databaseUrl, userPrefix: prefix, unanswered, admin: stack.admin, settleTimeoutMs: 180_000 });
}

async function bench(options: Options, settings: RunSettings): Promise<Report> {
  const replyBytes = frameMessageBytes();
  const stack = await startStack({ servers: 1, redis: false, env: {}, nodeArgs: serverNodeArgs(options), log });
  const echo = await startEcho(replyBytes);
  const random = seeded(settings.seed);
  try {
    await setUpTiers(stack);
    log(`creating users`);
    const idleSpecs = await steadySpecs(stack, 'lt-s-', options.idle, Math.max(1, Math.ceil(options.idle / options.sessions)), random, 'idle');
    const steady = idleSpecs.slice(0, options.sessions).map((spec): SessionSpec => ({ ...spec, mode: 'paced' }));
    const titrate = titrateTarget(stack);
    const echoes = echoTarget(echo);

    log(`idle: ${idleSpecs.length} sessions on the echo, then on Titrate`);
    const echoIdle = await runIdle(echoes, settings, 'ei', idleSpecs);
    const titrateIdle = withSocketsOf(await runIdle(titrate, settings, 'ti', idleSpecs), echoIdle);

    log(`steady: ${steady.length} sessions × 1 next/s on the echo, then on Titrate (${options.seconds} s each)`);
    const echoSteady = await runPhase(echoes, settings, 'e', steady, { warmupSeconds: 5, settle: steadySettle, seconds: options.seconds, drainMs: 10_000 });
    const titrateSteady = await runPhase(titrate, settings, 's', steady, { warmupSeconds: 5, settle: steadySettle, seconds: options.seconds, drainMs: 30_000 });
    const steadyCorrect = await correctnessOf(stack, 'lt-s-', titrateSteady.unanswered);

    // Charged decisions before the DJ sessions, whose fresh frames keep the renderer busy for a while.
    const { charge, updateBaseline: baseline } = await chargeScenario(stack, settings, options);
    const chargeCorrect = await correctnessOf(stack, 'lt-c-', charge.unanswered);

    const dj = await djSpecs(stack, 'lt-d-', 120, random);
    const djSeconds = Math.max(30, Math.round(options.seconds * 1.5));
    log(`dj: ${dj.length} sessions (${dj.length / 3} users × 3 devices), a frame every 1–2 s, ${djSeconds} s`);
    const djResult = await runPhase(titrate, settings, 'd', dj, { warmupSeconds: 5, seconds: djSeconds, drainMs: 60_000 });
    const djCorrect = await correctnessOf(stack, 'lt-d-', djResult.unanswered);

    log(`reconnect: ${steady.length} streaming sessions dropped at once`);
    const reconnect = await runReconnect(titrate, settings, 'r', steady, Math.max(10, Math.round(options.seconds / 2)));
    const reconnectCorrect = await correctnessOf(stack, 'lt-s-', reconnect.steady.unanswered);

    const ratio = (a: number, b: number) => (b === 0 ? null : Math.round((a / b) * 1000) / 1000);
    return {
      machine: machine(),
      settings: { sessions: options.sessions, idleSessions: options.idle, seconds: options.seconds, processes: options.processes, replyBytes, seed: settings.seed },
      echo: { idle: echoIdle, steady: echoSteady },
      steady: { idle: titrateIdle, ...titrateSteady },
      dj: djResult,
      charge: { ...charge, updateBaseline: baseline },
      reconnect,
      ratios: {
        cpuPerDecisionOverEcho: ratio(titrateSteady.cpuMicrosPerDecision, echoSteady.cpuMicrosPerDecision),
        p99OverEcho: ratio(titrateSteady.latency.library.p99Ms, echoSteady.latency.library.p99Ms),
        memoryPerConnectionOverEcho: ratio(titrateIdle.bytesPerConnection, echoIdle.bytesPerConnection),
        chargedPerSecondOverUpdateBaseline: ratio(charge.chargedPerSecond, baseline.transactionsPerSecond),
      },
      correctness: mergeCorrectness([steadyCorrect, djCorrect, chargeCorrect, reconnectCorrect]),
    };
  } finally {
    await echo.stop();
    await stack.stop();
  }
}

/** One scenario on its own stack. */
async function single(options: Options, settings: RunSettings): Promise<Record<string, unknown>> {
  const multinode = options.scenario === 'multinode';
  const provider = await providerOf(options);
  let stack: Stack;
  try {
    stack = await startStack({ servers: multinode ? 2 : 1, redis: multinode || options.engine === 'redis', env: provider.env, nodeArgs: serverNodeArgs(options), log });
  } catch (error) {
    await provider.model?.stop();
    throw error;
  }
  const random = seeded(settings.seed);
  try {
    await setUpTiers(stack);
    const titrate = titrateTarget(stack);
    let result: unknown;
    let prefix = 'lt-s-';
    let unanswered = 0;
    switch (options.scenario) {
      case 'steady': {
        const specs = await steadySpecs(stack, prefix, options.sessions, 1, random, 'paced');
        const steady = await runPhase(titrate, settings, 's', specs, { warmupSeconds: 5, settle: steadySettle, seconds: options.seconds, drainMs: 30_000 });
        result = steady;
        unanswered = steady.unanswered;
        break;
      }
      case 'idle': {
        const specs = await steadySpecs(stack, prefix, options.idle, Math.max(1, Math.ceil(options.idle / options.sessions)), random, 'idle');
        result = await runIdle(titrate, settings, 'i', specs);
        break;
      }
      case 'reconnect': {
        const specs = await steadySpecs(stack, prefix, options.sessions, 1, random, 'paced');
        const reconnect = await runReconnect(titrate, settings, 'r', specs, options.seconds);
        result = reconnect;
        unanswered = reconnect.steady.unanswered;
        break;
      }
      case 'dj':
      case 'multinode': {
        prefix = 'lt-d-';
        const specs = await djSpecs(stack, prefix, Math.max(1, Math.round(options.sessions / 3 / (multinode ? 8 : 16))), random);
        log(`${options.scenario}: ${specs.length} DJ sessions on ${stack.servers.length} server(s)`);
        const dj = await runPhase(titrate, settings, 'd', specs, { warmupSeconds: 5, seconds: options.seconds, drainMs: 60_000 });
        result = dj;
        unanswered = dj.unanswered;
        break;
      }
      case 'capacity': {
        prefix = 'lt-k-';
        const outcome = await capacityScenario(stack, settings, options, random);
        result = outcome.capacity;
        unanswered = outcome.unanswered;
        break;
      }
      case 'charge': {
        prefix = 'lt-c-';
        const outcome = await chargeScenario(stack, settings, options);
        result = { ...outcome.charge, updateBaseline: outcome.updateBaseline, ratio: Math.round((outcome.charge.chargedPerSecond / outcome.updateBaseline.transactionsPerSecond) * 1000) / 1000 };
        unanswered = outcome.charge.unanswered;
        break;
      }
      default:
        throw new UsageError(`unknown scenario ${options.scenario}`);
    }
    const correctness = await correctnessOf(stack, prefix, unanswered);
    return {
      machine: machine(), scenario: options.scenario, servers: stack.servers.length, engine: stack.redisUrl === null ? 'memory' : 'redis', provider: options.provider,
      // Read after the correctness check, which waits for every generation of the run to end.
      ...(provider.model === null ? {} : { remoteModel: provider.model.stats() }),
      [options.scenario]: result, correctness,
    };
  } finally {
    await stack.stop();
    await provider.model?.stop();
  }
}

function machine() {
  return {
    node: process.version, platform: `${process.platform} ${process.arch}`, cpus: availableParallelism(), cpuModel: cpus()[0]?.model ?? null,
    memoryBytes: totalmem(), at: new Date().toISOString(),
  };
}

async function main(): Promise<number> {
  let options: Options;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (error) {
    if (error instanceof UsageError) {
      if (error.message !== '') process.stderr.write(`${error.message}\n`);
      process.stderr.write(`${usage}\n`);
      return 2;
    }
    throw error;
  }
  const settings: RunSettings = { processes: options.processes, seed: 1, log };
  const started = performance.now();
  const report = options.scenario === 'bench' ? await bench(options, settings) : await single(options, settings);
  (report as Record<string, unknown>)['durationSeconds'] = Math.round((performance.now() - started) / 1000);
  if (options.scenario === 'bench') process.stdout.write(`${formatReport(report as Report)}\n`);
  else process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  if (options.json !== undefined) await writeFile(options.json, `${JSON.stringify(report, null, 2)}\n`);
  const correctness = (report as { correctness: Correctness }).correctness;
  const correct = correctness.unanswered === 0 && correctness.ledgerConsistent && correctness.negativeBalances === 0 && correctness.unmatchedDebits === 0;
  if (!correct) process.stderr.write('correctness check failed: see "correctness" in the report\n');
  return correct ? 0 : 1;
}

// An interrupted run takes its databases and servers down before it exits.
let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    log(`${signal}: stopping the servers and the database`);
    stopAllStacks().finally(() => process.exit(130));
  });
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`loadtest: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
    process.exit(1);
  },
);
