/**
 * Configuration, parsed once from the environment at start (see the table in the README).
 * A bad value stops the process with a message that names the variable, what was expected and
 * what was given; nothing else in the server reads `process.env`.
 */
import type { CoverageRules } from './pantry/coverage.js';
import path from 'node:path';
import { z } from 'zod';
import { defaultModels, ModelTable, type ModelSpec } from './generation/models.js';
import { banditAlgorithms, defaultBanditSettings, type BanditSettings } from './bandit/policy.js';
import type { RewardRules } from './bandit/reward.js';
import { rolloutModes, type Rollout } from './bandit/rollout.js';
import { policyNames, type PolicyName } from './titration/policies.js';

const providers = ['local', 'openai', 'sd'] as const;
export const roles = ['all', 'api', 'worker'] as const;
export type Role = (typeof roles)[number];
const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const optionalText = z
  .string()
  .optional()
  .transform((value) => (value === undefined || value.trim() === '' ? undefined : value.trim()));

const TierPolicies = z.record(z.string().regex(/^[A-Za-z0-9_-]{1,64}$/), z.enum(policyNames));

function urlWithScheme(schemes: string[]) {
  return optionalText.refine(
    (value) => value === undefined || (URL.canParse(value) && schemes.includes(new URL(value).protocol)),
    { message: `must be a URL starting with ${schemes.map((scheme) => `${scheme}//`).join(' or ')}` },
  );
}

const fraction = (fallback: number, min: number, max: number) =>
  optionalText
    .transform((value) => (value === undefined ? fallback : Number(value)))
    .refine((value) => Number.isFinite(value) && value >= min && value <= max, { message: `must be a number from ${min} to ${max}` });

const oneOf = <const Values extends readonly string[]>(values: Values, fallback: Values[number]) =>
  optionalText
    .transform((value) => value ?? fallback)
    .refine((value): value is Values[number] => (values as readonly string[]).includes(value), { message: `must be one of ${values.join(', ')}` });

const integer = (fallback: number, min: number, max: number) =>
  optionalText
    .transform((value) => (value === undefined ? fallback : Number(value)))
    .refine((value) => Number.isInteger(value) && value >= min && value <= max, {
      message: `must be an integer between ${min} and ${max}`,
    });

const EnvironmentSchema = z
  .object({
    PORT: integer(8080, 0, 65535),
    HOST: optionalText.transform((value) => value ?? '127.0.0.1'),
    DATA_DIR: optionalText.transform((value) => value ?? './.titrate'),
    DATABASE_URL: urlWithScheme(['postgres:', 'postgresql:']),
    REDIS_URL: urlWithScheme(['redis:', 'rediss:']),
    JWT_SECRET: optionalText.refine((value) => value === undefined || value.length >= 32, {
      message: 'must be at least 32 characters (an HS256 key needs 256 bits)',
    }),
    ADMIN_TOKEN: optionalText.refine((value) => value === undefined || value.length >= 16, {
      message: 'must be at least 16 characters',
    }),
    GEN_PROVIDER: optionalText
      .transform((value) => value ?? 'local')
      .refine((value): value is (typeof providers)[number] => (providers as readonly string[]).includes(value), {
        message: `must be one of ${providers.join(', ')}`,
      }),
    OPENAI_BASE_URL: urlWithScheme(['http:', 'https:']).transform((value) => value ?? 'https://api.openai.com'),
    OPENAI_API_KEY: optionalText,
    SD_BASE_URL: urlWithScheme(['http:', 'https:']),
    GEN_TIMEOUT_MS: integer(30_000, 100, 600_000),
    LOG_LEVEL: optionalText
      .transform((value) => value ?? 'info')
      .refine((value): value is (typeof logLevels)[number] => (logLevels as readonly string[]).includes(value), {
        message: `must be one of ${logLevels.join(', ')}`,
      }),
    DEMO_FRAMES_PER_BUCKET: integer(8, 1, 64),
    TITRATE_ROLE: optionalText
      .transform((value) => value ?? 'all')
      .refine((value): value is Role => (roles as readonly string[]).includes(value), { message: `must be one of ${roles.join(', ')}` }),
    REDIS_KEY_PREFIX: optionalText
      .transform((value) => value ?? 'titrate:')
      .refine((value) => /^[A-Za-z0-9:_-]{1,64}$/.test(value), { message: 'must be 1-64 letters, digits, ":", "_" or "-"' }),
    GEN_WORKERS: integer(2, 0, 64),
    GEN_MODELS: optionalText.transform((value, context) => {
      if (value === undefined) return undefined;
      let parsed: unknown;
      try {
        parsed = JSON.parse(value);
      } catch {
        context.addIssue({ code: 'custom', message: 'must be a JSON array of models' });
        return z.NEVER;
      }
      const models = ModelTable.safeParse(parsed);
      if (!models.success) {
        context.addIssue({ code: 'custom', message: `is not a valid model table: ${models.error.issues[0]?.path.join('.')} ${models.error.issues[0]?.message}` });
        return z.NEVER;
      }
      return models.data;
    }),
    GEN_CONGESTION_MS: integer(30_000, 0, 600_000),
    GEN_DISPLAY_MIN_MS: integer(5_000, 0, 600_000),
    GEN_DISPLAY_WINDOW_MS: integer(600_000, 100, 86_400_000),
    GEN_BEACON_WINDOW_MS: integer(120_000, 100, 86_400_000),
    GEN_INBOX_HOLD_MS: integer(86_400_000, 100, 7 * 86_400_000),
    GEN_SWEEP_INTERVAL_MS: integer(5_000, 50, 600_000),
    GEN_LOCAL_DELAY_MS: integer(0, 0, 600_000),
    PANTRY_MIN_UNSEEN: integer(60, 0, 100_000),
    PANTRY_MIN_STYLES: integer(5, 0, 1_000),
    PANTRY_MIN_UNSEEN_SHARE: optionalText
      .transform((value) => (value === undefined ? 0.3 : Number(value)))
      .refine((value) => Number.isFinite(value) && value >= 0 && value < 1, { message: 'must be a number from 0 up to (not including) 1' }),
    PANTRY_FILL: optionalText
      .transform((value) => value ?? 'on')
      .refine((value) => value === 'on' || value === 'off', { message: 'must be on or off' }),
    PANTRY_FILL_USD_PER_DAY: optionalText
      .transform((value) => (value === undefined ? 5 : Number(value)))
      .refine((value) => Number.isFinite(value) && value >= 0 && value <= 100_000, { message: 'must be a number of dollars from 0 to 100000' }),
    PLAYER_DEMO_TOKEN: optionalText.refine((value) => value === undefined || value === 'on' || value === 'off', { message: 'must be on or off' }),
    NODE_ENV: optionalText,
    BANDIT: oneOf(rolloutModes, 'on'),
    BANDIT_TIERS: optionalText.transform((value, context) => {
      const tiers: Record<string, (typeof rolloutModes)[number]> = {};
      for (const pair of (value ?? '').split(',').map((part) => part.trim()).filter((part) => part !== '')) {
        const [tier, mode] = pair.split(':').map((part) => part.trim());
        if (tier === undefined || !/^[A-Za-z0-9_-]{1,64}$/.test(tier) || !(rolloutModes as readonly string[]).includes(mode ?? '')) {
          context.addIssue({ code: 'custom', message: `must be a comma-separated list of tier:mode with mode one of ${rolloutModes.join(', ')}` });
          return z.NEVER;
        }
        tiers[tier] = mode as (typeof rolloutModes)[number];
      }
      return tiers;
    }),
    BANDIT_PERCENT: integer(100, 0, 100),
    BANDIT_ALGORITHM: oneOf(banditAlgorithms, defaultBanditSettings.algorithm),
    BANDIT_EPSILON: fraction(defaultBanditSettings.epsilon, 0, 1),
    BANDIT_NUDGE_MAX: fraction(defaultBanditSettings.nudgeMax, 0, 0.15),
    BANDIT_WARMUP_PULLS: integer(defaultBanditSettings.warmupPulls, 1, 1_000_000),
    REWARD_DWELL_MS: integer(10_000, 0, 3_600_000),
    BEACON_WINDOW_MS: integer(3_600_000, 1_000, 7 * 86_400_000),
    TITRATION_POLICY: optionalText
      .transform((value) => value ?? 'pace')
      .refine((value): value is PolicyName => (policyNames as readonly string[]).includes(value), { message: `must be one of ${policyNames.join(', ')}` }),
    TITRATION_TIER_POLICIES: optionalText.transform((value, context) => {
      if (value === undefined) return {};
      const parsed = TierPolicies.safeParse((() => {
        try {
          return JSON.parse(value) as unknown;
        } catch {
          return undefined;
        }
      })());
      if (!parsed.success) {
        context.addIssue({ code: 'custom', message: `must be a JSON object of tier name → one of ${policyNames.join(', ')}` });
        return z.NEVER;
      }
      return parsed.data;
    }),
  })
  .superRefine((env, context) => {
    if (env.GEN_PROVIDER === 'openai' && env.OPENAI_API_KEY === undefined) {
      context.addIssue({ code: 'custom', path: ['OPENAI_API_KEY'], message: 'is required when GEN_PROVIDER=openai' });
    }
    if (env.GEN_PROVIDER === 'sd' && env.SD_BASE_URL === undefined) {
      context.addIssue({ code: 'custom', path: ['SD_BASE_URL'], message: 'is required when GEN_PROVIDER=sd' });
    }
  });

export type Config = {
  port: number;
  host: string;
  /** Absolute path of the data directory. */
  dataDir: string;
  databaseUrl: string | undefined;
  redisUrl: string | undefined;
  jwtSecret: string | undefined;
  adminToken: string | undefined;
  genProvider: (typeof providers)[number];
  openaiBaseUrl: string;
  openaiApiKey: string | undefined;
  sdBaseUrl: string | undefined;
  genTimeoutMs: number;
  logLevel: (typeof logLevels)[number];
  demoFramesPerBucket: number;
  /** Which parts this process runs: everything, only the player-facing server, or only workers. */
  role: Role;
  redisKeyPrefix: string;
  /** Generation worker slots in this process (0: none; `api` processes run none). */
  generationWorkers: number;
  models: ModelSpec[];
  congestionThresholdMs: number;
  /** The rules that settle held debits (see the saga in the README). */
  settlement: { displayMinMs: number; displayWindowMs: number; beaconWindowMs: number; inboxHoldMs: number };
  sweepIntervalMs: number;
  /** Extra latency of the local renderer, to exercise congestion on a laptop. */
  localDelayMs: number;
  /** The titration policy of tiers not named in `tierPolicies`, and the exceptions by tier. */
  titration: { policy: PolicyName; tierPolicies: Record<string, PolicyName> };
  /** Coverage guardrails, and background filling of thin buckets within a daily budget. */
  pantry: { coverage: CoverageRules; fill: boolean; fillDollarsPerDay: number };
  /** The bandit's algorithm and bounds, who it acts for, and what a beacon's reward is. */
  bandit: { settings: BanditSettings; rollout: Rollout; reward: RewardRules };
  /** The web player's page carries a token for the demo user (development; off in production). */
  playerDemoToken: boolean;
};

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Parses the environment; throws a `ConfigError` naming every bad variable. */
export function loadConfig(environment: Record<string, string | undefined>, cwd: string): Config {
  const parsed = EnvironmentSchema.safeParse(environment);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      const variable = String(issue.path[0] ?? 'environment');
      const given = environment[variable];
      const shown = given === undefined ? '' : ` (got ${JSON.stringify(variable.includes('SECRET') || variable.includes('TOKEN') || variable.includes('KEY') ? '…' : given)})`;
      return `${variable} ${issue.message}${shown}`;
    });
    throw new ConfigError(`Invalid configuration:\n  ${lines.join('\n  ')}`);
  }
  const env = parsed.data;
  return {
    port: env.PORT,
    host: env.HOST,
    dataDir: path.resolve(cwd, env.DATA_DIR),
    databaseUrl: env.DATABASE_URL,
    redisUrl: env.REDIS_URL,
    jwtSecret: env.JWT_SECRET,
    adminToken: env.ADMIN_TOKEN,
    genProvider: env.GEN_PROVIDER,
    openaiBaseUrl: env.OPENAI_BASE_URL,
    openaiApiKey: env.OPENAI_API_KEY,
    sdBaseUrl: env.SD_BASE_URL,
    genTimeoutMs: env.GEN_TIMEOUT_MS,
    logLevel: env.LOG_LEVEL,
    demoFramesPerBucket: env.DEMO_FRAMES_PER_BUCKET,
    role: env.TITRATE_ROLE,
    redisKeyPrefix: env.REDIS_KEY_PREFIX,
    generationWorkers: env.TITRATE_ROLE === 'api' ? 0 : env.GEN_WORKERS,
    models: env.GEN_MODELS ?? defaultModels[env.GEN_PROVIDER],
    congestionThresholdMs: env.GEN_CONGESTION_MS,
    settlement: {
      displayMinMs: env.GEN_DISPLAY_MIN_MS,
      displayWindowMs: env.GEN_DISPLAY_WINDOW_MS,
      beaconWindowMs: env.GEN_BEACON_WINDOW_MS,
      inboxHoldMs: env.GEN_INBOX_HOLD_MS,
    },
    sweepIntervalMs: env.GEN_SWEEP_INTERVAL_MS,
    localDelayMs: env.GEN_LOCAL_DELAY_MS,
    titration: { policy: env.TITRATION_POLICY, tierPolicies: env.TITRATION_TIER_POLICIES },
    playerDemoToken: (env.PLAYER_DEMO_TOKEN ?? (env.NODE_ENV === 'production' ? 'off' : 'on')) === 'on',
    pantry: {
      coverage: { minUnseen: env.PANTRY_MIN_UNSEEN, minStyles: env.PANTRY_MIN_STYLES, minUnseenShare: env.PANTRY_MIN_UNSEEN_SHARE },
      fill: env.PANTRY_FILL === 'on',
      fillDollarsPerDay: env.PANTRY_FILL_USD_PER_DAY,
    },
    bandit: {
      settings: {
        ...defaultBanditSettings, algorithm: env.BANDIT_ALGORITHM, epsilon: env.BANDIT_EPSILON, nudgeMax: env.BANDIT_NUDGE_MAX,
        warmupPulls: env.BANDIT_WARMUP_PULLS,
      },
      rollout: { mode: env.BANDIT, tiers: env.BANDIT_TIERS, percent: env.BANDIT_PERCENT },
      reward: { dwellMsMin: env.REWARD_DWELL_MS, windowMs: env.BEACON_WINDOW_MS },
    },
  };
}
