/**
 * `npm run build -w client-sdk`: the browser bundle and its type declarations.
 *
 *   dist/index.js    one ES module for browsers (esbuild, platform "browser"), with @titrate/shared,
 *                    zod and msgpackr bundled in: a player needs nothing else at run time.
 *   dist/index.d.ts  declarations emitted by tsc from the source (checked as browser code: DOM
 *                    library, no Node types), the protocol package's beside them, so that the
 *                    declarations need no workspace package to resolve.
 */
import { spawnSync } from 'node:child_process';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { build } from 'esbuild';
import { zodEnglishOnly } from './zodEnglishOnly.js';

const packageDir = path.resolve(import.meta.dirname, '..');
const dist = path.join(packageDir, 'dist');
const typesDir = path.join(dist, 'types');
const sdkTypesDir = path.join(typesDir, 'client-sdk', 'src');
const sharedTypesIndex = path.join(typesDir, 'shared', 'src', 'index.js');

async function bundle(): Promise<void> {
  await build({
    entryPoints: [path.join(packageDir, 'src', 'index.ts')],
    outfile: path.join(dist, 'index.js'),
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    sourcemap: true,
    legalComments: 'none',
    logLevel: 'warning',
    plugins: [zodEnglishOnly],
  });
}

function declarations(): void {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const result = spawnSync(process.execPath, [tsc, '-p', path.join(packageDir, 'tsconfig.build.json')], { cwd: packageDir, stdio: 'inherit' });
  if (result.status !== 0) throw new Error(`tsc failed with status ${result.status}`);
}

/** The SDK's declarations import '@titrate/shared'; point them at the shared declarations in dist. */
async function relinkShared(): Promise<void> {
  for (const name of await readdir(sdkTypesDir)) {
    if (!name.endsWith('.d.ts')) continue;
    const file = path.join(sdkTypesDir, name);
    const relative = path.relative(sdkTypesDir, sharedTypesIndex).split(path.sep).join('/');
    const text = await readFile(file, 'utf8');
    await writeFile(file, text.replaceAll(`from '@titrate/shared'`, `from '${relative}'`));
  }
  await writeFile(path.join(dist, 'index.d.ts'), `export * from './types/client-sdk/src/index.js';\n`);
}

await rm(dist, { recursive: true, force: true });
await bundle();
declarations();
await relinkShared();
process.stdout.write(`built ${path.relative(process.cwd(), dist)}/index.js and index.d.ts\n`);
