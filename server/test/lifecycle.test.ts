/**
 * The process as a newcomer runs it: `serve` with no DATABASE_URL or REDIS_URL (embedded
 * PostgreSQL, memory engine), the printed demo token, SIGTERM, and a second start on the same data.
 */
import { spawn } from 'node:child_process';
import t from 'tap';
import { CloseCode } from '@titrate/shared';
import { repositoryRoot } from '../src/main.js';
import { TestClient } from './support/client.js';
import { baseEnvironment, exited, startProcess as start, titrateBin } from './support/process.js';
import { testDirectory } from './support/services.js';

const startProcess = (dataDir: string) => start({ DATA_DIR: dataDir });

t.test('serves frames with embedded PostgreSQL, drains on SIGTERM, and reuses its data on restart', async (t) => {
  const dataDir = await testDirectory(t);
  const first = await startProcess(dataDir);
  t.teardown(() => first.child.kill('SIGKILL'));
  t.match(first.output(), /Admin token\s+adm_/);
  const client = await TestClient.connect(first.url, first.demoToken);
  await client.hello();
  const frame = await client.next('life-1');
  // The demo pantry is thinner than the coverage guardrails, so the demo user's first frame may be forced fresh.
  t.match(frame, { t: 'frame', source: /^(library|fresh)$/ });
  const image = await fetch(new URL(String(frame['url']), first.url));
  t.equal(image.status, 200);
  // An upgrade made without a cork makes uWS print a warning; the gateway borrows its anchor's cork.
  t.notMatch(first.output(), /corked callback/, 'the upgrade after the token check was corked');
  t.equal((await fetch(new URL('/.cork-anchor/0123456789abcdef', first.url))).status, 404, 'the anchor route is not guessable');

  first.child.kill('SIGTERM');
  t.equal((await client.closed).code, CloseCode.serverRestarting, 'clients are told to reconnect');
  t.equal(await exited(first.child), 0, 'exits cleanly');

  const second = await startProcess(dataDir);
  t.teardown(() => second.child.kill('SIGKILL'));
  t.notMatch(second.output(), /rendering the demo pantry/, 'the pantry is not rendered again');
  const again = await TestClient.connect(second.url, first.demoToken);
  const welcome = await again.hello();
  t.equal(welcome['tier'], 'basic', 'a token from before the restart still works');
  const secondFrame = await again.next('life-2');
  t.equal(secondFrame['t'], 'frame');
  second.child.kill('SIGINT');
  t.equal(await exited(second.child), 0);
  again.close();
});

t.test('a bad configuration stops the start with a message naming the variable', async (t) => {
  const dataDir = await testDirectory(t);
  const child = spawn(process.execPath, ['--import', 'tsx', titrateBin, 'serve'], {
    cwd: repositoryRoot,
    env: { ...baseEnvironment(), DATA_DIR: dataDir, PORT: 'not-a-port' },
  });
  let output = '';
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  t.equal(await exited(child), 2);
  t.match(output, /PORT must be an integer/);
});

t.test('the token command prints a token the server accepts', async (t) => {
  const dataDir = await testDirectory(t);
  const child = spawn(process.execPath, ['--import', 'tsx', titrateBin, 'token', '--user', 'demo', '--ttl', '120'], {
    cwd: repositoryRoot,
    env: { ...baseEnvironment(), DATA_DIR: dataDir },
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  t.equal(await exited(child), 0);
  const token = output.trim();
  t.match(token, /^[\w-]+\.[\w-]+\.[\w-]+$/);
  const server = await startProcess(dataDir);
  t.teardown(() => server.child.kill('SIGKILL'));
  const client = await TestClient.connect(server.url, token);
  t.equal((await client.hello())['t'], 'welcome');
  client.close();
  server.child.kill('SIGTERM');
  await exited(server.child);
});
