/**
 * Command-line entry: `serve` (default; `npm start`), `serve --role worker|api|all` (also
 * `TITRATE_ROLE`; `npm run worker` runs generation workers alone) and `token`
 * (`npm run token -- --user ID`).
 * Reads the environment once, prints what a newcomer needs, and owns the process's signals.
 */
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { TokenAuthority } from '../auth/token.js';
import { ConfigError, loadConfig, type Config } from '../config.js';
import { limits } from '../limits.js';
import { startTitrate } from '../main.js';
import { loadSecrets } from '../secrets.js';
import { userIdPattern } from '../users/directory.js';

const demoTokenTtlSeconds = 24 * 3600;

function readConfig(overrides: Record<string, string> = {}): Config {
  try {
    return loadConfig({ ...process.env, ...overrides }, process.cwd());
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
}

async function serve(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { role: { type: 'string' } }, strict: true });
  const config = readConfig(values.role === undefined ? {} : { TITRATE_ROLE: values.role });
  const log = pino({ level: config.logLevel });
  const titrate = await startTitrate({ config, log });
  const demoToken = await titrate.tokens.issue('demo', demoTokenTtlSeconds);
  const streamUrl = `${titrate.url.replace(/^http/, 'ws')}/v1/stream`;
  process.stdout.write(
    [
      '',
      `Titrate listening on ${titrate.url}  (role: ${config.role})`,
      ...(config.role === 'worker' ? [] : [`  Web player     ${titrate.url}/${config.playerDemoToken ? '' : '?token=<a player token>'}`]),
      `  WebSocket      ${streamUrl}`,
      `  Admin token    ${titrate.adminToken}`,
      `  Demo token     ${demoToken}`,
      `                 (user "demo", valid 24 h; more with: npm run token -- --user demo)`,
      `  Open a show    ${streamUrl}?token=${demoToken}`,
      '',
    ].join('\n') + '\n',
  );
  // Ctrl-C reaches both npm and us, and npm forwards it again: signals within a second are one.
  let firstSignalMs: number | null = null;
  const shutdown = (signal: NodeJS.Signals) => {
    if (firstSignalMs !== null && Date.now() - firstSignalMs < 1000) return;
    if (firstSignalMs !== null) {
      log.warn({ signal }, 'second signal: exiting without draining');
      process.exit(1);
    }
    firstSignalMs = Date.now();
    log.info({ signal }, 'shutting down: draining connections');
    titrate.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        log.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
}

async function token(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { user: { type: 'string' }, ttl: { type: 'string' } }, strict: true });
  if (values.user === undefined) {
    process.stderr.write('usage: npm run token -- --user ID [--ttl SECONDS]\n');
    process.exit(2);
  }
  if (!userIdPattern.test(values.user)) {
    process.stderr.write('--user must be a user id: 1-128 printable ASCII characters\n');
    process.exit(2);
  }
  const ttl = values.ttl === undefined ? limits.tokenTtlSecondsDefault : Number(values.ttl);
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > limits.tokenTtlSecondsMax) {
    process.stderr.write(`--ttl must be an integer number of seconds between 1 and ${limits.tokenTtlSecondsMax}\n`);
    process.exit(2);
  }
  const config = readConfig();
  const secrets = await loadSecrets(config.dataDir, { jwtSecret: config.jwtSecret, adminToken: config.adminToken });
  process.stdout.write(`${await new TokenAuthority(secrets.jwtSecret).issue(values.user, ttl)}\n`);
}

const [command = 'serve', ...rest] = process.argv.slice(2);
const commands: Record<string, (args: string[]) => Promise<void>> = { serve, token };
const run = commands[command];
if (run === undefined) {
  process.stderr.write(`unknown command "${command}"; use one of: ${Object.keys(commands).join(', ')}\n`);
  process.exit(2);
}
run(rest).catch((error: unknown) => {
  process.stderr.write(`titrate: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
