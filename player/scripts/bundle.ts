/**
 * The player's files as the server serves them: `index.html` (with a config placeholder the server
 * fills), `styles.css`, and `src/main.ts` bundled for browsers with the client SDK, the protocol
 * package, zod and msgpackr inside (esbuild, in memory, once per process).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { PlayerFiles } from '../../server/src/http/player.js';
import { zodEnglishOnly } from '../../client-sdk/scripts/zodEnglishOnly.js';


const playerDir = path.resolve(import.meta.dirname, '..');

export async function bundlePlayer(): Promise<PlayerFiles> {
  const { build } = await import('esbuild');
  const result = await build({
    entryPoints: [path.join(playerDir, 'src', 'main.ts')],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    legalComments: 'none',
    logLevel: 'silent',
    plugins: [zodEnglishOnly],
  });
  const [html, css] = await Promise.all([readFile(path.join(playerDir, 'index.html'), 'utf8'), readFile(path.join(playerDir, 'styles.css'), 'utf8')]);
  return { html, css, js: result.outputFiles[0]!.text };
}
