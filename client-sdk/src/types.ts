/** The public shapes of the SDK: options, frames, events and counters. */
import type {
  Ack,
  Balance,
  BalanceMessage,
  Context,
  Encoding,
  ErrorMessage,
  Forecast,
  FrameMessage,
  Mix,
  Notice,
  Orientation,
  Pending,
  StockMessage,
  Welcome,
} from '@titrate/shared';
import type { ConnectionState } from './connectionState.js';
import type { BeaconMessage } from './dwell.js';
import type { FetchFunction, Timers, WebSocketConstructor } from './platform.js';
import type { ReconnectOptions } from './reconnect.js';

export type ClientOptions = {
  /** The stream endpoint, `ws://host:8080/v1/stream` or `wss://…/v1/stream`. */
  url: string;
  /** The player's token, or a function returning it (called before every connection attempt). */
  token: string | (() => string | Promise<string>);
  /** Called when the server refuses the token or closes with 4001 (token expired); returns a new token. */
  refreshToken?: () => Promise<string>;
  orientation: Orientation;
  context: Context;
  /** A label for this device (≤ 128 characters), reported in `hello`. */
  device?: string;
  /** Wire encoding: MessagePack (default, smaller) or JSON (readable in devtools). */
  encoding?: Encoding;
  /** The WebSocket class; default `globalThis.WebSocket`. In Node 20, pass the `ws` package's. */
  WebSocket?: WebSocketConstructor;
  /** Default `globalThis.fetch`: used for `/v1/auth/check` and offline images. */
  fetch?: FetchFunction;
  /** Frames kept requested or ready ahead of the player, 0..5 (default 2). */
  prefetch?: number;
  /** Library frames kept with their images for offline use, 5..10 (default 8). */
  offlineCacheSize?: number;
  /** True (default): a frame counts as shown when `next()` hands it out. False: call `shown(frame)`. */
  autoShown?: boolean;
  reconnect?: Partial<ReconnectOptions>;
  /** Beacons kept until acknowledged (default 256); past it the oldest is dropped and counted. */
  beaconQueueMax?: number;
  /** Epoch milliseconds; default `Date.now`. */
  now?: () => number;
  /** A number in [0, 1); default `Math.random`. Draws backoff delays and id prefixes. */
  random?: () => number;
  setTimeout?: Timers['setTimeout'];
  clearTimeout?: Timers['clearTimeout'];
};

/**
 * A frame to show: the fields of the server's `frame` message, plus what the SDK knows about it.
 * An offline frame comes from the offline cache: `id` is the stock item's id, `source` is
 * `library`, `charged` is 0, `balance`/`forecast`/`mix` are the last ones known, and `bytes` holds
 * the image so it can be shown without a network.
 */
export type Frame = Omit<FrameMessage, 't'> & {
  /** The image's absolute URL (`url` resolved against the server). */
  imageUrl: string;
  /** Shown from the offline cache while disconnected. */
  offline: boolean;
  /** Epoch ms when the frame went on screen (set by `next()`, or by `shown()` with `autoShown: false`). */
  shownAt?: number;
  /** The image bytes, for offline frames. */
  bytes?: Uint8Array;
};

/** The account's numbers as last heard from the server. */
export type AccountSummary = { balance: Balance; forecast: Forecast; mix: Mix };

export type StateChange = {
  state: ConnectionState;
  previous: ConnectionState;
  /** Why, in words (a close code, "token refused", "gave up after 50 attempts"…); null for ordinary steps. */
  reason: string | null;
  /** Frames from the offline cache are being shown (state `offline`). */
  showingCached: boolean;
};

/** A beacon was answered: by an ack (ok or not) or an error naming it. */
export type BeaconAnswer = {
  beacon: BeaconMessage;
  ok: boolean;
  /** The refusal code when not ok (`late_beacon`, `duplicate_beacon`, `invalid_message`, …). */
  code: string | null;
  /** 1 when the server counted the frame as a success (long dwell or liked), else 0; null when not told. */
  reward: number | null;
  counted: boolean | null;
};

export type ClientEvents = {
  state: StateChange;
  welcome: Welcome;
  frame: FrameMessage;
  pending: Pending;
  ack: Ack;
  balance: BalanceMessage;
  notice: Notice;
  error: ErrorMessage;
  stock: StockMessage;
  beacon: BeaconAnswer;
};

export type ClientStats = {
  /** Frames put on screen (live and offline). */
  framesShown: number;
  /** Of those, frames shown from the offline cache. */
  offlineShown: number;
  /** Beacons waiting for their ack now. */
  beaconsQueued: number;
  beaconsSent: number;
  beaconsAcknowledged: number;
  /** Beacons dropped because the queue was full. */
  beaconsDropped: number;
  /** Sessions re-established after a lost connection (welcomes after the first). */
  reconnects: number;
  connectionAttempts: number;
  /** Server messages that could not be decoded or did not match the protocol; ignored. */
  invalidServerMessages: number;
  /** Free library frames dropped unseen after a context change (or a duplicate of a frame shown offline). */
  framesDropped: number;
  /** Frames in the offline cache now. */
  offlineCached: number;
  /** Frames received and not yet handed out. */
  framesReady: number;
  /** `next` requests not answered yet (in flight, pending or waiting for the connection). */
  requestsOutstanding: number;
};
