/**
 * The composition root: the one place that creates the database pool, the session-state engine,
 * the uWebSockets.js app and every service, wires them together and tears them down in order.
 * Everything else receives what it needs as arguments.
 */
import { randomUUID } from 'node:crypto';
import PgBoss from 'pg-boss';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino, type Logger } from 'pino';
import { CloseCode } from '@titrate/shared';
import { TokenAuthority } from './auth/token.js';
import type { Config } from './config.js';
import { MemoryBus, RedisBus, type MessageBus } from './bus/bus.js';
import { CreditViewCache, LedgerCreditView } from './credits/view.js';
import { startEmbeddedDatabase, type EmbeddedDatabase } from './db/embedded.js';
import { migrate } from './db/migrator.js';
import { createPool, timeAcquisitions, type Database } from './db/pool.js';
import { FrameDecider } from './decision/decider.js';
import { BanditStatistics, RewardLog } from './bandit/statistics.js';
import { DecisionJournal } from './decision/journal.js';
import { WaitEstimator } from './generation/estimator.js';
import { CachedCharges } from './generation/charges.js';
import { FreshFrames, InboxHints } from './generation/fresh.js';
import { createProvider } from './generation/providers/index.js';
import type { ImageProvider } from './generation/providers/provider.js';
import { GenerationQueue } from './generation/queue.js';
import { GenerationSaga, type GenerationEvent } from './generation/saga.js';
import { GenerationStore } from './generation/store.js';
import { GenerationWorker } from './generation/worker.js';
import { JobHousekeeping } from './jobs/housekeeping.js';
import { decisionPartitionDaysAhead, startMaintenance, partitionMonthsAhead } from './jobs/maintenance.js';
import { Ledger } from './ledger/ledger.js';
import { startGateway, type Authentication } from './gateway/gateway.js';
import { AdminRoutes } from './http/admin.js';
import { PlayerPage } from './http/player.js';
import { HttpRoutes } from './http/routes.js';
import { bundlePlayer } from '../../player/scripts/bundle.js';
import { limits } from './limits.js';
import { createMetrics } from './metrics/metrics.js';
import { PantryCatalog } from './pantry/catalog.js';
import { defaultDemoPlan, seedDemoPantry, type DemoPlan } from './pantry/demo.js';
import { PantryFiller } from './pantry/filler.js';
import { PantryIngest } from './pantry/ingest.js';
import { CoverageMonitor } from './pantry/monitor.js';
import { FrameVariants } from './pantry/variants.js';
import { FrameStore, type FrameRow } from './pantry/store.js';
import { loadSecrets } from './secrets.js';
import type { SessionStateEngine } from './state/engine.js';
import { MemoryEngine } from './state/memory.js';
import { RedisEngine } from './state/redis.js';
import { newSessionId, sessionsOf, type BalanceWatcher, type StreamServices } from './stream/session.js';
import { LiveAccounts } from './stream/liveAccounts.js';
import { Watchers } from './stream/watchers.js';
import { ContextPool, TextPool } from './texts.js';
import { UserDirectory, userIdPattern } from './users/directory.js';

export const repositoryRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export type TitrateOptions = {
  config: Config;
  log?: Logger;
  migrationsDir?: string;
  /** Overrides the demo pantry's size (tests render a small one). */
  demoPlan?: DemoPlan;
  /** Namespaces Redis keys and channels (overrides REDIS_KEY_PREFIX; tests share one redis-server). */
  redisKeyPrefix?: string;
  /** Replaces the configured image provider (tests inject providers that misbehave on cue). */
  provider?: ImageProvider;
  /** Runs the scheduled maintenance jobs (default true; tests that drive cycles by hand turn it off). */
  maintenance?: boolean;
  /** Wraps the session-state engine (tests inject engines that fail on cue). */
  wrapEngine?: (engine: SessionStateEngine) => SessionStateEngine;
};

export type Titrate = {
  url: string;
  port: number;
  adminToken: string;
  tokens: TokenAuthority;
  databaseUrl: string;
  ledger: Ledger;
  engine: SessionStateEngine['kind'];
  /** Settles overdue generations and unshown held debits now (it also runs on an interval). */
  sweep: () => Promise<{ failed: number; expired: number }>;
  /** Writes the decisions and rewards recorded so far now (it also runs every second). */
  flushJournal: () => Promise<void>;
  stop: () => Promise<void>;
};

export async function startTitrate(options: TitrateOptions): Promise<Titrate> {
  const { config } = options;
  const log = options.log ?? pino({ level: config.logLevel });
  const cleanups: Array<() => Promise<void>> = [];
  const cleanUp = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch((error: unknown) => log.warn({ err: error }, 'cleanup failed'));
  };
  try {
    await mkdir(config.dataDir, { recursive: true, mode: 0o755 });
    const secrets = await loadSecrets(config.dataDir, { jwtSecret: config.jwtSecret, adminToken: config.adminToken });

    let embedded: EmbeddedDatabase | null = null;
    if (config.databaseUrl === undefined) {
      embedded = await startEmbeddedDatabase({ dataDir: config.dataDir, password: secrets.databasePassword, log });
      cleanups.push(embedded.stop);
    }
    const databaseUrl = config.databaseUrl ?? embedded!.url;
    const pool = createPool(databaseUrl, log);
    cleanups.push(() => pool.end());
    await migrate(pool, options.migrationsDir ?? path.join(repositoryRoot, 'migrations'), log);

    const metrics = createMetrics();
    /** A pool's clients and their waits in the metrics, under `name`. */
    const measurePool = (name: 'main' | 'jobs' | 'evidence', measured: Database) => {
      const labels = { pool: name };
      timeAcquisitions(measured, (seconds) => metrics.databasePoolWait.observe(labels, seconds));
      metrics.pools.set(name, measured);
    };
    measurePool('main', pool);
    // The journal and the reward log write on their own connections (`limits.evidencePoolSize`).
    const evidence = createPool(databaseUrl, log, { applicationName: 'titrate-evidence', max: limits.evidencePoolSize, asynchronousCommit: true });
    cleanups.push(() => evidence.end());
    measurePool('evidence', evidence);
    const keyPrefix = options.redisKeyPrefix ?? config.redisKeyPrefix;
    const bus: MessageBus = config.redisUrl === undefined ? new MemoryBus() : await RedisBus.connect(config.redisUrl, keyPrefix, log);
    cleanups.push(() => bus.close());
    const liveAccounts = new LiveAccounts<BalanceWatcher>((session) => session.creditsChanged());
    const generationWatchers = new Watchers<() => void>((onEnd) => onEnd());
    // What this process may remember between requests because it hears every change: with Redis
    // every process shares the bus; without it, only a process that runs the generation workers
    // itself (role "all") hears the generations and refunds that would make a memory stale.
    const hearsEveryChange = config.redisUrl !== undefined || config.role === 'all';
    const inboxHints = hearsEveryChange ? new InboxHints(limits.inboxHandoffMs) : undefined;
    // What each user's credits look like, kept until a change is announced (here or on another node).
    const creditViews = new CreditViewCache();
    bus.subscribe('credits', (accountId) => {
      creditViews.heard(accountId, Date.now());
      liveAccounts.notify(accountId);
    });
    bus.subscribe('generations', (payload) => {
      const event = parseGenerationEvent(payload);
      if (event === null) return;
      inboxHints?.ended(event.user, Date.now());
      generationWatchers.notify(event.id);
    });
    const announce = (accountId: string, debit?: { userId: string; charged: number; balanceAfter: number }) => {
      // This node's own sessions must not read the old view while the bus carries the news.
      creditViews.changedHere(accountId, Date.now(), debit);
      bus.publish('credits', accountId).catch((error: unknown) => log.warn({ err: error, accountId }, 'credit change not announced'));
    };
    const ledger = new Ledger(pool, log, { onDrift: () => metrics.ledgerDrift.inc(), onChange: announce });
    await ledger.ensurePartitions(partitionMonthsAhead);
    const journal = new DecisionJournal({ pool: evidence, log, metrics });
    // Cleanups run in reverse: the journal flushes before the evidence pool ends.
    cleanups.push(() => journal.stop());
    await journal.ensurePartitions(decisionPartitionDaysAhead);
    const texts = new TextPool(limits.pooledTextsMax);
    const contexts = new ContextPool(texts, limits.pooledContextsMax);
    const users = new UserDirectory(pool, texts);
    for (const userId of await users.seed()) await ledger.openAccount(userId);

    // This process's pg-boss sends and works jobs; its timekeeping and table maintenance run on a
    // thread of their own (jobs/housekeeping.ts), off the loop that answers players.
    const boss = new PgBoss({ connectionString: databaseUrl, schema: 'pgboss', max: 4, application_name: 'titrate-jobs', schedule: false, supervise: false });
    boss.on('error', (error) => log.warn({ err: error }, 'job queue error'));
    await boss.start();
    cleanups.push(() => boss.stop({ graceful: true, wait: true, timeout: 5000 }));
    // pg-boss keeps its own pool (`getDb().pool` in v10); timed like the main one when it is there.
    const jobsPool = (boss.getDb() as { pool?: Database }).pool;
    if (typeof jobsPool?.connect === 'function' && typeof jobsPool.waitingCount === 'number') measurePool('jobs', jobsPool);
    if (options.maintenance ?? true) {
      // Without scheduled maintenance (tests that drive cycles by hand) there is no time to keep.
      const housekeeping = await JobHousekeeping.start({ databaseUrl, schema: 'pgboss', applicationName: 'titrate-jobs-housekeeping' }, log);
      cleanups.push(() => housekeeping.stop());
    }
    const generations = new GenerationStore(pool, { ...config.settlement, handoffMs: limits.inboxHandoffMs });

    const frames = new FrameStore(pool, config.dataDir);
    if ((await frames.countLibrary()) === 0) {
      await seedDemoPantry(frames, options.demoPlan ?? defaultDemoPlan(config.demoFramesPerBucket), log);
    }
    const catalog = new PantryCatalog();
    for (const frame of await frames.listLibrary(limits.catalogFramesMax)) catalog.add(frame);
    log.info({ frames: catalog.size }, 'pantry catalog loaded');
    // A frame added to the library on any node (ingestion, fills, late images) joins every catalog.
    const addToPantry = (frame: FrameRow) => {
      if (catalog.add(frame) === 'full') log.error({ frame: frame.id, max: limits.catalogFramesMax }, 'the pantry catalog is full: frame stored but not shown');
      bus.publish('pantry', frame.id).catch((error: unknown) => log.warn({ err: error, frame: frame.id }, 'new pantry frame not announced'));
    };
    bus.subscribe('pantry', (frameId) => {
      if (catalog.has(frameId)) return;
      frames.get(frameId).then(
        (frame) => {
          if (frame !== null && frame.source === 'library' && catalog.add(frame) === 'full') log.error({ frame: frameId }, 'the pantry catalog is full');
        },
        (error: unknown) => log.warn({ err: error, frame: frameId }, 'announced pantry frame could not be loaded'),
      );
    });
    const variants = new FrameVariants({ frames, dataDir: config.dataDir, metrics, log });
    cleanups.push(() => variants.stop());
    const monitor = new CoverageMonitor({ metrics });

    const configured: SessionStateEngine =
      config.redisUrl === undefined ? new MemoryEngine() : new RedisEngine(config.redisUrl, { keyPrefix });
    const engine = options.wrapEngine?.(configured) ?? configured;
    cleanups.push(() => engine.close());
    await engine.ping();

    const queue = await GenerationQueue.open(boss, Math.ceil(config.genTimeoutMs / 1000) + limits.jobExpiryMarginSeconds);
    const saga = new GenerationSaga({ store: generations, ledger, bus, metrics, log });
    const provider = options.provider ?? createProvider(config, { localDelayMs: config.localDelayMs });
    let worker: GenerationWorker | null = null;
    if (config.generationWorkers > 0) {
      worker = new GenerationWorker(
        {
          store: generations, queue, saga, provider, models: config.models, frames, metrics, log, generationTimeoutMs: config.genTimeoutMs,
          addToPantry,
        },
        config.generationWorkers,
      );
      await worker.start();
      cleanups.push(() => worker!.stop());
      log.info({ slots: config.generationWorkers, provider: provider.name }, 'generation worker running');
    }
    const sweep = sweeper(() => saga.sweep(limits.sweepBatchMax), config.sweepIntervalMs, log);
    cleanups.push(async () => sweep.stop());
    const estimator = new WaitEstimator(generations, (sample) => {
      metrics.generationQueue.set({ state: 'queued' }, sample.queued);
      metrics.generationQueue.set({ state: 'running' }, sample.running);
      metrics.generationSlots.set(sample.slots);
    });
    const fresh = new FreshFrames({
      store: generations, queue, saga, ledger, estimator, metrics, provider: provider.name, models: config.models,
      generationTimeoutMs: config.genTimeoutMs, congestionThresholdMs: config.congestionThresholdMs,
      onEnqueued: () => worker?.wake(), inbox: inboxHints,
      onCreditChange: announce,
      charges: new CachedCharges(
        { pool, log, onBatch: (size) => metrics.cachedChargeBatch.observe(size) },
        { batchMax: limits.chargeBatchMax, inFlightMax: limits.chargeBatchesInFlightMax, queueMax: limits.chargeQueueMax },
      ),
    });

    const tokens = new TokenAuthority(secrets.jwtSecret);
    const credits = new LedgerCreditView(ledger, hearsEveryChange ? creditViews : null);
    const decider = new FrameDecider({
      catalog, fresh, random: Math.random, newId: randomUUID, freshCostMin: Math.min(...config.models.map((model) => model.credits)),
      coverage: config.pantry.coverage, observeCoverage: (check) => monitor.observe(check),
    });
    const policyFor = (tier: string) => config.titration.tierPolicies[tier] ?? config.titration.policy;
    const rewardLog = new RewardLog({ pool: evidence, log, metrics });
    cleanups.push(() => rewardLog.stop());
    const bandit = new BanditStatistics({ engine, settings: config.bandit.settings, rollout: config.bandit.rollout, log, metrics });
    await bandit.start();
    cleanups.push(async () => bandit.stop());
    // What this process holds in memory goes to the log first, so the rebuild reads it.
    const rebuildBandit = async (sinceDays: number) => {
      await journal.flush();
      await rewardLog.flush();
      return bandit.rebuild(pool, sinceDays);
    };
    let ready = false;

    const authenticate = async (token: string | null): Promise<Authentication> => {
      if (token === null) return { ok: false, status: 401, code: 'missing_token', message: 'a token is required (?token= or Authorization: Bearer)' };
      const check = await tokens.verify(token);
      if (!check.ok) return { ok: false, status: 401, code: 'invalid_token', message: check.reason };
      const unknown: Authentication = { ok: false, status: 403, code: 'unknown_user', message: 'the token names a user this server does not know' };
      // A subject no user can have is not looked up: account reads are batched with other users' ids.
      if (!userIdPattern.test(check.claims.userId)) return unknown;
      const account = await users.getAccount(check.claims.userId);
      if (account === null) return unknown;
      return { ok: true, userId: account.id, expiresAtMs: check.claims.expiresAtMs, account };
    };

    const filler = new PantryFiller(
      { pool, generations, queue, catalog, monitor, provider: provider.name, models: config.models, metrics, log, onEnqueued: () => worker?.wake() },
      { enabled: config.pantry.fill, dollarsPerDay: config.pantry.fillDollarsPerDay, rules: config.pantry.coverage },
    );
    monitor.onMiss((bucket) => filler.onMiss(bucket));
    filler.start();
    cleanups.push(() => filler.stop());
    if (options.maintenance ?? true) {
      await startMaintenance({ boss, ledger, generations, metrics, log, journal, pantry: filler, rewards: rewardLog, bandit: { rebuild: () => rebuildBandit(limits.banditRebuildDays) } });
    }
    const ingest = new PantryIngest({ frames, onAdded: addToPantry });
    const routes = new HttpRoutes({
      // A worker process has no streams to show.
      ...(config.role === 'worker'
        ? {}
        : {
            player: new PlayerPage({
              build: bundlePlayer, demoUser: 'demo', log,
              demoToken: config.playerDemoToken ? () => tokens.issue('demo', limits.playerDemoTokenTtlSeconds) : null,
            }),
          }),
      frames,
      variants,
      metrics,
      admin: new AdminRoutes(
        users, ledger, secrets.adminToken, Date.now, { ingest, coverage: () => filler.report(), fill: () => filler.run() },
        {
          segments: async () => ({ settings: bandit.settings, rollout: bandit.rollout, rewards: config.bandit.reward, ...(await bandit.report()) }),
          rebuild: rebuildBandit,
        },
      ),
      authenticate,
      readiness: async () => {
        const checks: Record<string, string> = {};
        const database = pool.query('SELECT 1').then(() => 'ok', (error: Error) => `failed: ${error.message}`);
        const state = engine.ping().then(() => 'ok', (error: Error) => `failed: ${error.message}`);
        [checks['database'], checks['engine']] = await Promise.all([database, state]);
        checks['server'] = ready ? 'ok' : 'stopping';
        return { ready: ready && checks['database'] === 'ok' && checks['engine'] === 'ok', checks };
      },
    });

    // One set of services for every stream: a session holds only its own state.
    const streamServices: StreamServices | null =
      config.role === 'worker'
        ? null
        : {
            engine, users, credits, decider, fresh, ledger, metrics, log, now: Date.now, newId: newSessionId,
            sharedAccount: (accountId, account) => liveAccounts.shared(accountId, account),
            joinAccount: (accountId, session, account, read) => liveAccounts.join(accountId, session, account, read),
            leaveAccount: (accountId, session) => liveAccounts.leave(accountId, session),
            contexts,
            demandOn: (accountId, dayKey, read) => liveAccounts.demandOn(accountId, dayKey, read),
            lastDemand: (accountId) => liveAccounts.lastDemand(accountId),
            watchGeneration: (generationId, onEnd) => {
              generationWatchers.watch(generationId, onEnd);
              return () => generationWatchers.unwatch(generationId, onEnd);
            },
            announceCreditChange: announce,
            frameUrl: (frameId) => `/v1/frames/${frameId}`,
            policyFor,
            random: Math.random,
            texts,
            journal,
            warmVariant: (frameId) => variants.warm(frameId),
            bandit,
            rewards: rewardLog,
            rewardRules: config.bandit.reward,
          };
    const gateway = await startGateway({
      host: config.host,
      port: config.port,
      routes,
      authenticate,
      metrics,
      log,
      openSession: streamServices === null ? null : sessionsOf(streamServices),
    });
    ready = true;
    const hostForUrl = config.host.includes(':') ? `[${config.host}]` : config.host;
    const url = `http://${hostForUrl}:${gateway.port}`;
    log.info({ url, role: config.role, engine: engine.kind, database: embedded === null ? 'external' : 'embedded' }, `listening on ${url}`);

    let stopping: Promise<void> | null = null;
    const stop = () => {
      stopping ??= (async () => {
        ready = false;
        gateway.stopAccepting();
        await gateway.drain(limits.shutdownDrainMs);
        gateway.closeAll(CloseCode.serverRestarting, 'server restarting');
        // Give the close frames a turn of the event loop to leave before the app is closed.
        await new Promise((resolve) => setTimeout(resolve, 50));
        gateway.close();
        await cleanUp();
        log.info('stopped');
      })();
      return stopping;
    };
    return { url, port: gateway.port, adminToken: secrets.adminToken, tokens, databaseUrl, ledger, engine: engine.kind, sweep: sweep.now, flushJournal: async () => {
        await journal.flush();
        await rewardLog.flush();
      },
      stop,
    };
  } catch (error) {
    await cleanUp();
    throw error;
  }
}

function parseGenerationEvent(payload: string): GenerationEvent | null {
  try {
    const event = JSON.parse(payload) as Partial<GenerationEvent>;
    return typeof event.id === 'string' ? (event as GenerationEvent) : null;
  } catch {
    return null;
  }
}

/** Runs `work` every `intervalMs`, never two at once; `now` runs it at once (after a running one). */
function sweeper<T>(work: () => Promise<T>, intervalMs: number, log: Logger) {
  let running: Promise<T> | null = null;
  const now = async (): Promise<T> => {
    while (running !== null) await running.catch(() => undefined);
    running = work().finally(() => {
      running = null;
    });
    return running;
  };
  const timer = setInterval(() => {
    if (running === null) now().catch((error: unknown) => log.warn({ err: error }, 'generation sweep failed'));
  }, intervalMs);
  timer.unref();
  return { now, stop: () => clearInterval(timer) };
}
