/**
 * The browser build: `npm run build -w client-sdk` writes one self-contained ES module and its
 * declarations; the bundle imports nothing (no Node built-ins above all) and runs.
 */
import { spawnSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import t from 'tap';
import type { SocketEvent } from '../src/platform.js';

const packageDir = path.resolve(import.meta.dirname, '..');
const repositoryRoot = path.resolve(packageDir, '..');
const dist = path.join(packageDir, 'dist');
const builtins = 'assert|buffer|child_process|crypto|dns|events|fs|http|https|module|net|os|path|perf_hooks|process|stream|tls|url|util|worker_threads|zlib';

function npm(args: string[], cwd: string): { status: number | null; output: string } {
  // Under `npm test`, npm names its own entry point; elsewhere the npm on the PATH is used.
  const npmCli = process.env['npm_execpath'];
  const result =
    npmCli !== undefined && npmCli.endsWith('.js')
      ? spawnSync(process.execPath, [npmCli, ...args], { cwd, encoding: 'utf8' })
      : spawnSync('npm', args, { cwd, encoding: 'utf8' });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

t.test('npm run build -w client-sdk writes a self-contained browser bundle and declarations', async (t) => {
  const build = npm(['run', 'build', '-w', 'client-sdk'], repositoryRoot);
  t.equal(build.status, 0, build.output);
  const bundle = await readFile(path.join(dist, 'index.js'), 'utf8');
  t.notMatch(bundle, /["']node:/, 'no node: specifier');
  t.notMatch(bundle, new RegExp(`require\\(\\s*["'](?:node:)?(?:${builtins})(?:/[\\w/]*)?["']\\s*\\)`), 'no require of a Node built-in');
  t.notMatch(bundle, /\bfrom\s*["'][^"']+["']|\bimport\s*\(\s*["']/, 'imports nothing: zod, msgpackr and the protocol are inside');
  const declarations = await readFile(path.join(dist, 'index.d.ts'), 'utf8');
  t.match(declarations, /export \* from '\.\/types\/client-sdk\/src\/index\.js'/);
  const clientTypes = await readFile(path.join(dist, 'types', 'client-sdk', 'src', 'types.d.ts'), 'utf8');
  t.notMatch(clientTypes, /@titrate\/shared/, 'the declarations point at the protocol declarations beside them');
});

t.test('the built declarations type-check a browser consumer', async (t) => {
  const consumer = path.join(dist, 'consumer.check.ts');
  await writeFile(
    consumer,
    `import { TitrateClient, type Frame } from './index.js';
const client = new TitrateClient({ url: 'wss://example.com/v1/stream', token: () => 'jwt', orientation: 'portrait',
  context: { genre: 'techno', mood: 'dark', energy: 0.5 }, WebSocket });
client.on('state', (change) => change.showingCached);
export const shown: Promise<Frame> = client.next();
`,
  );
  // A browser project: the DOM library, no Node types.
  const config = {
    compilerOptions: { noEmit: true, strict: true, skipLibCheck: true, target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', lib: ['ES2023', 'DOM'], types: [] },
    files: ['consumer.check.ts'],
  };
  await writeFile(path.join(dist, 'tsconfig.consumer.json'), JSON.stringify(config));
  const tsc = path.join(repositoryRoot, 'node_modules', 'typescript', 'bin', 'tsc');
  const result = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.consumer.json'], { cwd: dist, encoding: 'utf8' });
  t.equal(result.status, 0, `${result.stdout}${result.stderr}`);
});

t.test('the bundle runs: a client built from it opens a socket and says hello', async (t) => {
  const sdk = (await import(pathToFileURL(path.join(dist, 'index.js')).href)) as typeof import('../src/index.js');
  const sent: string[] = [];
  class RecordingSocket {
    readyState = 0;
    binaryType = 'blob';
    readonly #listeners = new Map<string, (event: SocketEvent) => void>();
    constructor(readonly url: string) {
      queueMicrotask(() => {
        this.readyState = 1;
        this.#listeners.get('open')?.({ type: 'open' });
      });
    }
    addEventListener(type: string, listener: (event: SocketEvent) => void): void {
      this.#listeners.set(type, listener);
    }
    send(data: string): void {
      sent.push(data);
    }
    close(): void {
      this.readyState = 3;
    }
  }
  const client = new sdk.TitrateClient({
    url: 'ws://example.test/v1/stream', token: 'jwt', orientation: 'square', context: { genre: 'jazz', mood: 'calm', energy: 0.3 },
    encoding: 'json', WebSocket: RecordingSocket, fetch: async () => ({ status: 503, ok: false, json: async () => null, arrayBuffer: async () => new ArrayBuffer(0) }),
  });
  client.connect().catch(() => undefined);
  await new Promise((resolve) => setTimeout(resolve, 20));
  t.match(JSON.parse(sent[0]!), { t: 'hello', v: 1, orientation: 'square' });
  await client.close();
  t.equal(client.state, 'closed');
});
