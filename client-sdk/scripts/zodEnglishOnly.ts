import path from 'node:path';
import type { Plugin } from 'esbuild';

/**
 * zod re-exports a namespace of ~40 message locales (`z.locales`), half of the bundle's bytes. The
 * SDK only validates server messages and never reads zod's messages in other languages, so the
 * namespace is cut down to English, the default.
 */
export const zodEnglishOnly: Plugin = {
  name: 'zod-english-only',
  setup(build) {
    build.onResolve({ filter: /\/locales\/index\.js$/ }, (args) => {
      if (!args.importer.split(path.sep).includes('zod')) return undefined;
      return { path: path.join(path.dirname(args.importer), args.path), namespace: 'zod-locales' };
    });
    build.onLoad({ filter: /.*/, namespace: 'zod-locales' }, (args) => ({
      contents: `export { default as en } from ${JSON.stringify(path.join(path.dirname(args.path), 'en.js'))};`,
      resolveDir: path.dirname(args.path),
    }));
  },
};

