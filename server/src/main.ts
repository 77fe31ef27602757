/**
 * The composition root: the one place that creates the database pool, the session-state engine,
 * the uWebSockets.js app and every service, wires them together and tears them down in order.
 * Everything else receives what it needs as arguments.
 */
import { randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino, type Logger } from 'pino';
import { CloseCode } from '@titrate/shared';
import { TokenAuthority } from './auth/token.js';
import type { Config } from './config.js';
import { MemoryCreditNotifier, RedisCreditNotifier, type CreditNotifier } from './credits/notifier.js';
import { LedgerCreditView } from './credits/view.js';
import { startEmbeddedDatabase, type EmbeddedDatabase } from './db/embedded.js';
import { migrate } from './db/migrator.js';
import { createPool } from './db/pool.js';
import { LibraryDecider } from './decision/decider.js';
import { startMaintenance, partitionMonthsAhead, type Maintenance } from './jobs/maintenance.js';
import { Ledger } from './ledger/ledger.js';
import { startGateway, type Authentication } from './gateway/gateway.js';
import { AdminRoutes } from './http/admin.js';
import { HttpRoutes } from './http/routes.js';
import { limits } from './limits.js';
import { createMetrics } from './metrics/metrics.js';
import { PantryCatalog } from './pantry/catalog.js';
import { defaultDemoPlan, seedDemoPantry, type DemoPlan } from './pantry/demo.js';
import { FrameStore } from './pantry/store.js';
import { loadSecrets } from './secrets.js';
import type { SessionStateEngine } from './state/engine.js';
import { MemoryEngine } from './state/memory.js';
import { RedisEngine } from './state/redis.js';
import { StreamSession } from './stream/session.js';
import { BalanceWatchers } from './stream/watchers.js';
import { UserDirectory } from './users/directory.js';

export const repositoryRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export type TitrateOptions = {
  config: Config;
  log?: Logger;
  migrationsDir?: string;
  /** Overrides the demo pantry's size (tests render a small one). */
  demoPlan?: DemoPlan;
  /** Namespaces Redis keys (tests share one redis-server). */
  redisKeyPrefix?: string;
  /** Runs the scheduled maintenance jobs (default true; tests that drive cycles by hand turn it off). */
  maintenance?: boolean;
};

export type Titrate = {
  url: string;
  port: number;
  adminToken: string;
  tokens: TokenAuthority;
  databaseUrl: string;
  ledger: Ledger;
  engine: SessionStateEngine['kind'];
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
    const keyPrefix = options.redisKeyPrefix ?? 'titrate:';
    const notifier: CreditNotifier = config.redisUrl === undefined ? new MemoryCreditNotifier() : new RedisCreditNotifier(config.redisUrl, keyPrefix, log);
    cleanups.push(() => notifier.close());
    const watchers = new BalanceWatchers();
    notifier.subscribe((accountId) => watchers.notify(accountId));
    const announce = (accountId: string) => {
      notifier.publish(accountId).catch((error: unknown) => log.warn({ err: error, accountId }, 'credit change not announced'));
    };
    const ledger = new Ledger(pool, log, { onDrift: () => metrics.ledgerDrift.inc(), onChange: announce });
    await ledger.ensurePartitions(partitionMonthsAhead);
    const users = new UserDirectory(pool);
    for (const userId of await users.seed()) await ledger.openAccount(userId);
    let maintenance: Maintenance | null = null;
    if (options.maintenance ?? true) {
      maintenance = await startMaintenance({ databaseUrl, ledger, metrics, log });
      cleanups.push(() => maintenance!.stop());
    }
    const frames = new FrameStore(pool, config.dataDir);
    if ((await frames.countLibrary()) === 0) {
      await seedDemoPantry(frames, options.demoPlan ?? defaultDemoPlan(config.demoFramesPerBucket), log);
    }
    const catalog = new PantryCatalog();
    for (const frame of await frames.listLibrary(limits.catalogFramesMax)) catalog.add(frame);
    log.info({ frames: catalog.size }, 'pantry catalog loaded');

    const engine: SessionStateEngine =
      config.redisUrl === undefined ? new MemoryEngine() : new RedisEngine(config.redisUrl, { keyPrefix });
    cleanups.push(() => engine.close());
    await engine.ping();

    const tokens = new TokenAuthority(secrets.jwtSecret);
    const credits = new LedgerCreditView(ledger);
    const decider = new LibraryDecider(catalog, Math.random, randomUUID);
    let ready = false;

    const authenticate = async (token: string | null): Promise<Authentication> => {
      if (token === null) return { ok: false, status: 401, code: 'missing_token', message: 'a token is required (?token= or Authorization: Bearer)' };
      const check = await tokens.verify(token);
      if (!check.ok) return { ok: false, status: 401, code: 'invalid_token', message: check.reason };
      const account = await users.getAccount(check.claims.userId);
      if (account === null) return { ok: false, status: 403, code: 'unknown_user', message: 'the token names a user this server does not know' };
      return { ok: true, userId: account.id, expiresAtMs: check.claims.expiresAtMs };
    };

    const routes = new HttpRoutes({
      frames,
      metrics,
      admin: new AdminRoutes(users, ledger, secrets.adminToken),
      readiness: async () => {
        const checks: Record<string, string> = {};
        const database = pool.query('SELECT 1').then(() => 'ok', (error: Error) => `failed: ${error.message}`);
        const state = engine.ping().then(() => 'ok', (error: Error) => `failed: ${error.message}`);
        [checks['database'], checks['engine']] = await Promise.all([database, state]);
        checks['server'] = ready ? 'ok' : 'stopping';
        return { ready: ready && checks['database'] === 'ok' && checks['engine'] === 'ok', checks };
      },
    });

    const gateway = await startGateway({
      host: config.host,
      port: config.port,
      routes,
      authenticate,
      metrics,
      log,
      openSession: (userId, outbox) =>
        new StreamSession(
          {
            engine, users, credits, decider, ledger, metrics, log, now: Date.now, newId: randomUUID,
            watchBalance: (accountId, onChange) => watchers.watch(accountId, onChange),
            announceCreditChange: announce,
            frameUrl: (frameId) => `/v1/frames/${frameId}`,
          },
          userId,
          outbox,
        ),
    });
    ready = true;
    const hostForUrl = config.host.includes(':') ? `[${config.host}]` : config.host;
    const url = `http://${hostForUrl}:${gateway.port}`;
    log.info({ url, engine: engine.kind, database: embedded === null ? 'external' : 'embedded' }, `listening on ${url}`);

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
    return { url, port: gateway.port, adminToken: secrets.adminToken, tokens, databaseUrl, ledger, engine: engine.kind, stop };
  } catch (error) {
    await cleanUp();
    throw error;
  }
}
