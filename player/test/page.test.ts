import t from 'tap';
import { startTestServer } from '../../server/test/support/server.js';

const configOf = (html: string) => JSON.parse(/<script id="titrate-config" type="application\/json">(.*?)<\/script>/.exec(html)![1]!) as { demoToken: string | null };

t.test('the page at / and /player carries a demo token in development, and its script and styles are served', async (t) => {
  const server = await startTestServer(t, 'memory');
  for (const route of ['/', '/player']) {
    const response = await fetch(`${server.url}${route}`);
    t.equal(response.status, 200, route);
    t.match(response.headers.get('content-type'), /^text\/html/);
    t.match(response.headers.get('content-security-policy'), /script-src 'self'/);
    const { demoToken } = configOf(await response.text());
    t.ok(demoToken !== null && (await fetch(`${server.url}/v1/auth/check?token=${demoToken}`)).status === 200, 'the demo token works');
  }
  const script = await fetch(`${server.url}/player/app.js`);
  t.equal(script.status, 200);
  t.match(script.headers.get('content-type'), /^text\/javascript/);
  t.ok((await script.text()).length > 10_000, 'the SDK is bundled in');
  t.match((await fetch(`${server.url}/player/app.css`)).headers.get('content-type'), /^text\/css/);
  t.equal((await fetch(`${server.url}/player/nothing.js`)).status, 404);
});

t.test('with PLAYER_DEMO_TOKEN=off the page carries no token; a worker answers / with a plain page', async (t) => {
  const server = await startTestServer(t, 'memory', { PLAYER_DEMO_TOKEN: 'off' });
  t.equal(configOf(await (await fetch(`${server.url}/`)).text()).demoToken, null);
  const worker = await startTestServer(t, 'memory', { TITRATE_ROLE: 'worker' });
  const page = await (await fetch(`${worker.url}/`)).text();
  t.notMatch(page, /titrate-config/);
  t.match(page, /The server is running/);
});
