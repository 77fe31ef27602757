/**
 * What the SDK needs from its surroundings, as small structural types: a WebSocket class, `fetch`,
 * timers, a clock and a random source. Browsers provide all of them globally; Node passes the
 * `ws` package's WebSocket (Node 20 has no global one); tests inject fakes. Nothing here imports a
 * Node module, so the bundle runs in any browser.
 */

/** The part of the WebSocket interface the SDK uses (browser WebSocket and the `ws` package both have it). */
export interface WebSocketLike {
  readonly readyState: number;
  binaryType: string;
  send(data: string | ArrayBuffer | ArrayBufferView): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: 'open' | 'message' | 'close' | 'error', listener: (event: SocketEvent) => void): void;
}

/** The fields of open/message/close/error events the SDK reads (`type` is on every event). */
export type SocketEvent = { readonly type?: string; data?: unknown; code?: number; reason?: string };

export type WebSocketConstructor = new (url: string) => WebSocketLike;

export type FetchResponse = {
  readonly status: number;
  readonly ok: boolean;
  json(): Promise<unknown>;
  arrayBuffer(): Promise<ArrayBuffer>;
};

export type FetchInit = { headers?: Record<string, string>; signal?: AbortSignalLike };

/** An `AbortSignal`, as far as the SDK hands it on. */
export type AbortSignalLike = { readonly aborted: boolean };

export type FetchFunction = (url: string, init?: FetchInit) => Promise<FetchResponse>;

export type Timers = {
  setTimeout: (callback: () => void, delayMs: number) => unknown;
  clearTimeout: (handle: never) => void;
};

/** The WebSocket open state (the same number in every implementation). */
export const socketOpen = 1;

type Scope = {
  WebSocket?: WebSocketConstructor;
  fetch?: FetchFunction;
  setTimeout?: (callback: () => void, delayMs: number) => unknown;
  clearTimeout?: (handle: never) => void;
  AbortController?: new () => { signal: AbortSignalLike; abort(): void };
};

const scope = globalThis as unknown as Scope;

export function globalWebSocket(): WebSocketConstructor | undefined {
  return scope.WebSocket;
}

export function globalFetch(): FetchFunction | undefined {
  const fetch = scope.fetch;
  // Called unbound, the browser's fetch throws "Illegal invocation".
  return fetch === undefined ? undefined : (url, init) => fetch.call(globalThis, url, init);
}

export function globalTimers(): Timers {
  const set = scope.setTimeout;
  const clear = scope.clearTimeout;
  if (set === undefined || clear === undefined) throw new Error('no timers in this environment: pass setTimeout and clearTimeout');
  return { setTimeout: (callback, delayMs) => set.call(globalThis, callback, delayMs), clearTimeout: (handle) => clear.call(globalThis, handle) };
}

/** An abort controller when the environment has one (fetches are then cancelled on timeout). */
export function newAbortController(): { signal: AbortSignalLike; abort(): void } | null {
  return scope.AbortController === undefined ? null : new scope.AbortController();
}
