/**
 * Every bound of the client SDK in one place, units last, each with the reason for its size.
 *
 * A player runs for hours on flaky networks: every queue, cache, retry loop and timer here has a
 * ceiling so that a long outage or a misbehaving server costs a known amount of memory and traffic.
 * Protocol limits shared with the server (message size, id lengths, stock size) come from
 * `@titrate/shared` and are not repeated.
 */
import { protocolLimits } from '@titrate/shared';

export const sdkLimits = {
  // --- Frames ahead ------------------------------------------------------------------------------
  /** Frames kept requested or ready ahead of the player by default: one on screen, one decoding. */
  prefetchDefault: 2,
  /**
   * Most frames kept ahead. Every prefetched `next` is a decision (a fresh one is charged), so a
   * deep queue spends credits on frames a player may never show.
   */
  prefetchMax: 5,
  /**
   * `next()` calls allowed to wait at once. A player shows one frame at a time; more waiting calls
   * mean a loop that does not await, and each would add a request to the server.
   */
  nextWaitersMax: 8,
  /** A `next` that got neither `pending` nor `frame` in this long means the socket is dead: reconnect. */
  nextAnswerTimeoutMs: 20_000,
  /** A `next` refused with `rate_limited`, `overloaded` or `internal` is sent again (same id) after this… */
  nextRetryDelayMs: 1_000,
  /** …this many times; then the waiting `next()` is rejected with the server's code. */
  nextRetriesMax: 5,
  /** Decision ids remembered as shown, so that no decision is handed out twice. */
  shownRememberedMax: 512,

  // --- Beacons -----------------------------------------------------------------------------------
  /** Beacons kept for sending by default: hours of frames at one every ten seconds or so. */
  beaconQueueDefault: 256,
  /** Upper bound of `beaconQueueMax`: a beacon is ~150 bytes, so this is well under a megabyte. */
  beaconQueueMaxLimit: 4_096,
  /** Beacons sent and not yet acknowledged at once; more wait, so a replay does not flood the server. */
  beaconsInFlightMax: 8,
  /** An unacknowledged beacon stops holding a sending slot after this (it is sent again after a reconnect). */
  beaconAckTimeoutMs: 10_000,
  /** `close()` waits this long for the acks of the last beacons before closing the socket. */
  closeAckWaitMs: 1_000,

  // --- Sending -----------------------------------------------------------------------------------
  /**
   * Messages per second the SDK sends at most, half of the server's 40/s, so that a replay of
   * queued beacons after an outage is never answered `rate_limited` (that error names no request).
   */
  sendRatePerSecond: 20,
  /** Burst of the send rate: a reconnect sends hello, the replayed `next`s and a few beacons at once. */
  sendBurst: 20,
  /** Control messages (next, context, burst, stock…) waiting for the send rate; more is a bug. */
  outboxMessagesMax: 64,
  /** Bursts waiting for their ack at once. */
  burstsPendingMax: 4,

  // --- Offline cache -------------------------------------------------------------------------------
  offlineCacheSizeMin: 5,
  offlineCacheSizeDefault: 8,
  /** At most `stockFramesMax` frames per `stock` request, and a cache is filled by one request. */
  offlineCacheSizeMax: protocolLimits.stockFramesMax,
  /** Ids of frames already shown, kept so that the offline cache never offers one again. */
  usedFramesRememberedMax: 512,
  /** A `stock` request not answered in this long is given up (a server without the feature says nothing). */
  stockAnswerTimeoutMs: 10_000,
  /** After a failed or unanswered `stock`, or one with fewer new frames than asked (the pantry is thin), the next waits this long. */
  stockRetryDelayMs: 30_000,
  /** Image downloads for the cache at once: the cache refills in the background, never racing the show. */
  imageFetchesInFlightMax: 2,
  /** Largest image kept for offline use (the demo frames are ~100 KiB; a 4K WebP is a few MiB). */
  imageBytesMax: 16 * 1024 * 1024,
  /** An image download taking longer than this is abandoned. */
  imageFetchTimeoutMs: 30_000,

  // --- Connection ----------------------------------------------------------------------------------
  reconnectBaseMsDefault: 500,
  reconnectMaxMsDefault: 15_000,
  reconnectAttemptsMaxDefault: 50,
  /** Upper bound of `reconnect.attemptsMax`: past a thousand failed attempts, a person should look. */
  reconnectAttemptsMaxLimit: 1_000,
  /** From creating a socket to its `welcome`; longer means the network or the server is stuck. */
  connectTimeoutMs: 15_000,
  /** The `GET /v1/auth/check` that follows a refused socket. */
  authCheckTimeoutMs: 10_000,
  /**
   * Largest server message decoded. Server messages are small (a `stock` answer of ten frames is
   * ~3 KiB); a larger one is not ours and is ignored without parsing.
   */
  serverMessageBytesMax: 64 * 1024,
} as const;
