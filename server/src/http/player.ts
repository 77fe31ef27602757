/**
 * The reference web player at `/` and `/player` (see player/): the page, its script and its styles.
 * The script is bundled from the player's source on first request and kept for the process's life.
 * In development the page carries a token for the demo user, so opening the printed URL starts a
 * show; `?token=` on the page's URL takes precedence.
 */
import type { Logger } from 'pino';
import type { HttpResponse } from './types.js';
import { failure } from './types.js';

export type PlayerFiles = { html: string; css: string; js: string };

export type PlayerOptions = {
  /** Builds the page's files (bundling the script); called once. */
  build: () => Promise<PlayerFiles>;
  /** A token for the demo user to pre-fill, or null (production). */
  demoToken: (() => Promise<string>) | null;
  demoUser: string;
  log: Logger;
};

const configPlaceholder = '<!-- titrate-config -->';

export class PlayerPage {
  readonly #options: PlayerOptions;
  #files: Promise<PlayerFiles> | null = null;

  constructor(options: PlayerOptions) {
    this.#options = options;
  }

  #load(): Promise<PlayerFiles> {
    this.#files ??= this.#options.build().catch((error: unknown) => {
      this.#options.log.error({ err: error }, 'the player could not be built');
      this.#files = null;
      throw error;
    });
    return this.#files;
  }

  async page(): Promise<HttpResponse> {
    const files = await this.#load().catch(() => null);
    if (files === null) return failure(503, 'player_unavailable', 'the web player could not be built; see the server log');
    const demoToken = this.#options.demoToken === null ? null : await this.#options.demoToken();
    // JSON inside <script>: "<" is escaped so no value can close the element.
    const config = JSON.stringify({ demoToken, demoUser: demoToken === null ? null : this.#options.demoUser }).replace(/</g, '\\u003c');
    const html = files.html.replace(configPlaceholder, `<script id="titrate-config" type="application/json">${config}</script>`);
    return {
      status: 200,
      headers: {
        'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer',
        'content-security-policy': "default-src 'self'; img-src 'self' blob: data:; connect-src 'self' ws: wss:; style-src 'self'; script-src 'self'; frame-ancestors 'none'",
      },
      body: html,
    };
  }

  async asset(name: string): Promise<HttpResponse | null> {
    if (name !== 'app.js' && name !== 'app.css') return null;
    const files = await this.#load().catch(() => null);
    if (files === null) return failure(503, 'player_unavailable', 'the web player could not be built; see the server log');
    const js = name === 'app.js';
    return {
      status: 200,
      headers: { 'content-type': js ? 'text/javascript; charset=utf-8' : 'text/css; charset=utf-8', 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff' },
      body: js ? files.js : files.css,
    };
  }
}
