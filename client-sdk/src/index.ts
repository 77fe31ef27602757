/**
 * `@titrate/client-sdk`: the client for Titrate players. See docs/sdk.md.
 *
 * The pure modules (backoff, queues, cache, state machine) are exported too: a player with its own
 * transport, and the tests, use them directly.
 */
export { TitrateClient } from './client.js';
export type { AccountSummary, BeaconAnswer, ClientEvents, ClientOptions, ClientStats, Frame, StateChange } from './types.js';
export { TitrateError, ClientErrorCode } from './errors.js';
export { connectionStates, connectionTransitions, ConnectionStateMachine, isTerminal, type ConnectionState } from './connectionState.js';
export { backoffDelayMs, attemptsExhausted, closeAction, type CloseAction, type ReconnectOptions } from './reconnect.js';
export { BeaconQueue } from './beaconQueue.js';
export { OfflineCache, type CachedFrame } from './offlineCache.js';
export { PrefetchQueue, labelsOf, isDroppable, type FrameRequest, type ReadyFrame } from './prefetch.js';
export { beaconFor, dwellMs, type BeaconMessage, type ShownFrame } from './dwell.js';
export { httpBaseOf, streamUrlWithToken, resolveUrl, authCheckUrl, authVerdictOf, type AuthVerdict } from './endpoints.js';
export { Pacer } from './pacer.js';
export { sdkLimits } from './limits.js';
export type { FetchFunction, FetchResponse, Timers, WebSocketConstructor, WebSocketLike, SocketEvent } from './platform.js';
export { ErrorCode, CloseCode, NoticeCode } from '@titrate/shared';
export type { Context, Orientation, Welcome, FrameMessage, StockFrame, Balance, Forecast, Mix, Ack } from '@titrate/shared';
