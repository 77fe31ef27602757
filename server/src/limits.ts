/**
 * Every bound of the server in one place, units last. A limit without a reason is a guess, so each
 * says why it is what it is. Protocol limits shared with clients live in `@titrate/shared`.
 */
export const limits = {
  // --- WebSocket transport ---------------------------------------------------------------------
  /**
   * The transport's hard limit. uWebSockets.js drops a connection without a close frame (1006)
   * past this, so it stays far above the protocol limit, which the gateway enforces with 1009.
   */
  transportPayloadBytesMax: 256 * 1024,
  /** Bytes queued for a slow reader before the socket is closed: about 200 frame messages. */
  backpressureBytesMax: 256 * 1024,
  /** Seconds without traffic before a socket is closed; pings are sent automatically before it. */
  idleTimeoutSeconds: 60,
  /** Messages one connection may send per second on average (a DJ set asks for ~4 frames/s). */
  messagesPerSecondMax: 40,
  /** Burst allowance on top of the rate (a reconnecting player prefetches several frames). */
  messagesBurstMax: 60,
  /** Messages of one connection still being processed; beyond this they get `overloaded`. */
  pendingMessagesPerConnectionMax: 32,
  /** Open sockets per process; past this, upgrades get 503 rather than exhausting memory. */
  connectionsMax: 50_000,

  // --- HTTP ------------------------------------------------------------------------------------
  /** Admin JSON bodies are tiny; anything larger is a mistake or an attack. */
  adminBodyBytesMax: 64 * 1024,
  /** Tokens longer than this are not ours (ours are ~200 bytes). */
  tokenBytesMax: 4096,

  // --- Sessions --------------------------------------------------------------------------------
  /** A session can be resumed for this long after its last activity. */
  sessionTtlMs: 6 * 60 * 60 * 1000,
  /** Decisions are replayable by request id for this long (reconnects and retries). */
  decisionTtlMs: 30 * 60 * 1000,
  /** Frames remembered as seen per scope; older ones may be shown again. */
  seenFramesMax: 2_000,
  /** Sessions the in-process engine keeps; the least recently used is evicted beyond it. */
  memorySessionsMax: 100_000,
  /** Decisions the in-process engine keeps per session (a replay window, not a history). */
  memoryDecisionsPerSessionMax: 512,
  /** User-days of demand counts the in-process engine keeps (a month of days for ~30,000 users). */
  memoryUserDaysMax: 1_000_000,
  /** How long a user-day's counts are kept: the demand forecast reads four weeks back. */
  userDayTtlMs: 35 * 24 * 60 * 60 * 1000,
  /** How often the in-process engine sweeps expired entries. */
  memorySweepIntervalMs: 30_000,
  /** A state-engine call slower than this fails the request rather than stalling the show. */
  stateCommandTimeoutMs: 2_000,

  /**
   * Fresh frames one session may wait for at once. A DJ asking four frames a second from a slow
   * provider would otherwise queue dozens of paid images it can never watch; past this the
   * session gets library frames until some arrive.
   */
  pendingFreshPerSessionMax: 4,

  // --- Generation ------------------------------------------------------------------------------
  /** Overdue generations and unsettled debits handled per sweep (the next sweep takes the rest). */
  sweepBatchMax: 100,
  /** Prompt-cache entries unused this long are forgotten by the daily eviction job. */
  promptCacheUnusedMs: 7 * 24 * 3600 * 1000,
  /**
   * A ready fresh frame belongs to the `next` waiting for it this long before any other request of
   * the user may take it from the inbox (covers the bus delivering the news a little late).
   */
  inboxHandoffMs: 10_000,
  /** pg-boss expires an active job this long after GEN_TIMEOUT_MS (our own deadline fires first). */
  jobExpiryMarginSeconds: 30,

  // --- Pantry ----------------------------------------------------------------------------------
  /** Frames the in-memory catalog indexes; far above the demo pantry, bounded all the same. */
  catalogFramesMax: 500_000,
  /** Images rendered at once while seeding (sharp also uses its own thread pool). */
  demoRenderConcurrency: 4,

  // --- Decision journal ------------------------------------------------------------------------
  /**
   * Decisions written by one INSERT. A busy process makes a few hundred a second, so a batch is
   * about a second of them: one round trip instead of hundreds, far inside the statement timeout.
   */
  decisionJournalBatchMax: 500,
  /**
   * Decisions waiting in memory for the database (~1 KB each, so ~20 MB): over a minute of a busy
   * process, enough to ride out a database restart. Beyond it new ones are dropped and counted:
   * the journal is evidence, not money, and must never cost the show memory or latency.
   */
  decisionJournalBufferMax: 20_000,
  /** The longest a decision waits in memory when batches do not fill (what a crash may lose). */
  decisionJournalFlushIntervalMs: 1_000,
  /** Days of decisions kept: a month of evaluation data, plus a few days to rerun a late report. */
  decisionRetentionDays: 35,

  // --- PostgreSQL ------------------------------------------------------------------------------
  /** Pool size: two cores do not benefit from more concurrent queries. */
  databasePoolSize: 10,
  /** A query slower than this is cancelled by PostgreSQL. */
  statementTimeoutMs: 10_000,
  /** Waiting for a pooled connection longer than this fails the request. */
  connectTimeoutMs: 5_000,
  /** How long the embedded PostgreSQL may take to start (first start includes initdb). */
  embeddedStartTimeoutMs: 60_000,

  // --- Lifecycle -------------------------------------------------------------------------------
  /** Time in-flight requests get to finish on shutdown before engines are closed anyway. */
  shutdownDrainMs: 5_000,
  /** Player token lifetime when `npm run token` is given no `--ttl`. */
  tokenTtlSecondsDefault: 3600,
  /** The longest token `npm run token` will issue (30 days). */
  tokenTtlSecondsMax: 30 * 24 * 3600,
} as const;
