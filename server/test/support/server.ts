/** Starts a real Titrate server for a test: real PostgreSQL, the chosen engine, a free port. */
import { pino } from 'pino';
import type { Test } from 'tap';
import { loadConfig } from '../../src/config.js';
import { startTitrate, type Titrate } from '../../src/main.js';
import type { ImageProvider } from '../../src/generation/providers/provider.js';
import type { DemoPlan } from '../../src/pantry/demo.js';
import type { SessionStateEngine } from '../../src/state/engine.js';
import { testDatabaseUrl, testDirectory, testRedisUrl, uniquePrefix } from './services.js';

export type EngineKind = 'memory' | 'redis';

/** A small pantry: 2 genres × 2 moods × 3 orientations × 3 frames, rendered in a few seconds. */
export const testDemoPlan: DemoPlan = {
  genres: ['techno', 'ambient'],
  moods: ['calm', 'energetic'],
  orientations: ['landscape', 'portrait', 'square'],
  perBucket: 3,
};

export async function startTestServer(
  t: Test,
  engine: EngineKind,
  environment: Record<string, string> = {},
  options: {
    maintenance?: boolean; databaseUrl?: string; dataDir?: string; redisKeyPrefix?: string; provider?: ImageProvider; demoPlan?: DemoPlan;
    wrapEngine?: (engine: SessionStateEngine) => SessionStateEngine;
  } = {},
): Promise<Titrate> {
  const dataDir = options.dataDir ?? (await testDirectory(t));
  const config = loadConfig(
    {
      PORT: '0',
      HOST: '127.0.0.1',
      DATA_DIR: dataDir,
      DATABASE_URL: options.databaseUrl ?? (await testDatabaseUrl(t)),
      ...(engine === 'redis' ? { REDIS_URL: testRedisUrl() } : {}),
      LOG_LEVEL: process.env['LOG_LEVEL'] ?? 'silent',
      // The test pantry is tiny: coverage guardrails and fills are off unless a test turns them on.
      PANTRY_MIN_UNSEEN: '0',
      PANTRY_MIN_STYLES: '0',
      PANTRY_MIN_UNSEEN_SHARE: '0',
      PANTRY_FILL: 'off',
      ...environment,
    },
    process.cwd(),
  );
  const titrate = await startTitrate({
    config,
    log: pino({ level: config.logLevel }),
    demoPlan: options.demoPlan ?? testDemoPlan,
    redisKeyPrefix: options.redisKeyPrefix ?? uniquePrefix('server'),
    maintenance: options.maintenance ?? false,
    ...(options.provider === undefined ? {} : { provider: options.provider }),
    ...(options.wrapEngine === undefined ? {} : { wrapEngine: options.wrapEngine }),
  });
  t.teardown(() => titrate.stop());
  return titrate;
}
