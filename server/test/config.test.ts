import t from 'tap';
import { ConfigError, loadConfig } from '../src/config.js';

t.test('an empty environment gives the documented defaults', async (t) => {
  const config = loadConfig({}, '/srv/app');
  t.match(config, {
    port: 8080, host: '127.0.0.1', dataDir: '/srv/app/.titrate', databaseUrl: undefined, redisUrl: undefined,
    genProvider: 'local', openaiBaseUrl: 'https://api.openai.com', genTimeoutMs: 30000,
  });
});

t.test('a bad value is refused with a message naming the variable and the value', async (t) => {
  t.throws(() => loadConfig({ PORT: 'eighty' }, '/'), { name: 'ConfigError', message: /PORT must be an integer between 0 and 65535 \(got "eighty"\)/ });
  t.throws(() => loadConfig({ PORT: '70000' }, '/'), ConfigError);
  t.throws(() => loadConfig({ DATABASE_URL: 'mysql://x' }, '/'), { message: /DATABASE_URL must be a URL starting with postgres:/ });
  t.throws(() => loadConfig({ REDIS_URL: 'localhost:6379' }, '/'), { message: /REDIS_URL/ });
  t.throws(() => loadConfig({ GEN_PROVIDER: 'dalle' }, '/'), { message: /GEN_PROVIDER must be one of local, openai, sd/ });
  t.throws(() => loadConfig({ GEN_TIMEOUT_MS: '5' }, '/'), { message: /GEN_TIMEOUT_MS/ });
});

t.test('secrets are checked for strength but never echoed', async (t) => {
  const error = t.throws(() => loadConfig({ JWT_SECRET: 'short-secret' }, '/')) as Error;
  t.match(error.message, /JWT_SECRET must be at least 32 characters/);
  t.notMatch(error.message, /short-secret/);
});

t.test('every bad variable is reported at once', async (t) => {
  const error = t.throws(() => loadConfig({ PORT: '-1', HOST: 'x', LOG_LEVEL: 'loud' }, '/')) as Error;
  t.match(error.message, /PORT/);
  t.match(error.message, /LOG_LEVEL/);
});

t.test('remote providers require their settings', async (t) => {
  t.throws(() => loadConfig({ GEN_PROVIDER: 'openai' }, '/'), { message: /OPENAI_API_KEY is required when GEN_PROVIDER=openai/ });
  t.throws(() => loadConfig({ GEN_PROVIDER: 'sd' }, '/'), { message: /SD_BASE_URL is required when GEN_PROVIDER=sd/ });
  t.equal(loadConfig({ GEN_PROVIDER: 'sd', SD_BASE_URL: 'http://127.0.0.1:7860' }, '/').sdBaseUrl, 'http://127.0.0.1:7860');
});

t.test('blank values count as unset', async (t) => {
  t.equal(loadConfig({ PORT: '', DATABASE_URL: '  ' }, '/').port, 8080);
  t.equal(loadConfig({ DATABASE_URL: '' }, '/').databaseUrl, undefined);
});
