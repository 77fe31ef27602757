/**
 * The server's addresses, all derived from the stream URL the player is given: the HTTP base
 * (ws → http, wss → https, same host and port, same path prefix before `/v1/stream`), the token
 * check, and frame images (`frame.url` is a path on the same server).
 */

export type AuthVerdict =
  /** The token is good: a failed connection was the network or the server. */
  | 'accepted'
  /** The server refused the token (401) or the user (403). */
  | 'refused'
  /** No answer, or one that says nothing about the token (503, 404 from an older server). */
  | 'unknown';

/** Checks the stream URL; throws (a programming error in the player's setup) when it is not ws:// or wss://. */
export function parseStreamUrl(streamUrl: string): URL {
  const url = new URL(streamUrl);
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:') throw new TypeError(`the stream url must be ws:// or wss://, got ${url.protocol}`);
  return url;
}

/** `ws://host:8080/v1/stream` → `http://host:8080`; a path prefix (`/titrate/v1/stream`) is kept. */
export function httpBaseOf(streamUrl: string): string {
  const url = parseStreamUrl(streamUrl);
  const protocol = url.protocol === 'wss:' ? 'https:' : 'http:';
  const prefix = url.pathname.replace(/\/v1\/stream\/?$/, '').replace(/\/$/, '');
  return `${protocol}//${url.host}${prefix}`;
}

/** The stream URL with `?token=` set (other query parameters are kept). */
export function streamUrlWithToken(streamUrl: string, token: string): string {
  const url = parseStreamUrl(streamUrl);
  url.searchParams.set('token', token);
  return url.toString();
}

/** A URL from the server (`/v1/frames/…`, or absolute) as an absolute http(s) URL. */
export function resolveUrl(httpBase: string, url: string): string {
  return new URL(url, `${httpBase}/`).toString();
}

export function authCheckUrl(httpBase: string): string {
  return `${httpBase}/v1/auth/check`;
}

/** What the status of `GET /v1/auth/check` says about the token. */
export function authVerdictOf(status: number): AuthVerdict {
  if (status === 200) return 'accepted';
  if (status === 401 || status === 403) return 'refused';
  return 'unknown';
}
