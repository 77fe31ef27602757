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
  /** How long the gateway waits at start for its loopback cork anchor (see gateway/anchor.ts). */
  corkAnchorConnectMs: 2_000,
  /** How often sockets are checked for an expired token (closed with 4001 when it has). */
  tokenExpiryScanMs: 1_000,
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
  /**
   * A frame upload (`POST /v1/admin/frames`), the only body allowed to be large: one image of
   * `ingestBytesMax` with room for multipart framing, or a few camera JPEGs in one form. The body
   * is held in memory for one request; only requests with the admin token get this far.
   */
  frameUploadBytesMax: 30 * 1024 * 1024,
  /**
   * Image files in one upload. Each is decoded and re-encoded in turn while the request waits, so
   * a few dozen keep the answer within seconds; larger folders go as several requests (the
   * `pantry:add` command sends one file per request).
   */
  frameUploadFilesMax: 32,
  /** Text fields in one multipart upload: genre, mood, style, energy or one `metadata`, with slack. */
  frameUploadFieldsMax: 16,
  /**
   * Images `npm run pantry:add` takes from one folder. A pantry is curated, not scraped: a folder
   * larger than this is more likely the wrong folder, and it can go in parts.
   */
  pantryAddFilesMax: 5_000,
  /** Uploads `pantry:add` keeps in flight: enough to keep the server's image threads busy. */
  pantryAddUploadsInFlightMax: 4,
  /** One upload of `pantry:add` may take this long (a 30 MiB image over a slow link) before it is given up. */
  pantryAddUploadTimeoutMs: 120_000,
  /** `pantry:add` asks `/healthz` first; a server that cannot answer that in this long is not there. */
  pantryAddProbeTimeoutMs: 5_000,
  /** The demo token a development page carries lives a day, like the one printed at start. */
  playerDemoTokenTtlSeconds: 24 * 3600,
  /** Tokens longer than this are not ours (ours are ~200 bytes). */
  tokenBytesMax: 4096,

  // --- Sessions --------------------------------------------------------------------------------
  /** A session can be resumed for this long after its last activity. */
  sessionTtlMs: 6 * 60 * 60 * 1000,
  /** Decisions are replayable by request id for this long (reconnects and retries). */
  decisionTtlMs: 30 * 60 * 1000,
  /** Bandit segments (tier × genre × mood) counted at most; past it new segments are not. */
  banditSegmentsMax: 5_000,
  /** How often each process re-reads the bandit's statistics from the engine. */
  banditRefreshMs: 5_000,
  /** Days of decisions a scheduled bandit rebuild reads (the journal keeps 35). */
  banditRebuildDays: 28,
  /** Decisions one offline evaluation reads at most (a month of a busy node; ~100 bytes each in memory). */
  opeDecisionsMax: 2_000_000,
  /** Unseen library frames kept for a stock request's offline show: how long its items count. */
  stockTtlMs: 24 * 3_600_000,
  /** Stock frames one connection may take (an offline cache holds 5–10; a reconnect starts again). */
  stockItemsPerConnectionMax: 30,
  /** Short records (delivered frames' facts, stock items, beacon claims) the memory engine keeps at most. */
  memoryRecordsMax: 500_000,
  /** Sessions the in-process engine keeps; beyond it, one not used lately is evicted (a clock cache). */
  memorySessionsMax: 100_000,
  /**
   * The in-process engine's bounded maps are split into shards once each would hold at least this
   * many entries, into at most 2^`memoryShardBitsMax` shards (state/shards.ts): a full map's
   * eviction walks and rehashes are a shard's.
   */
  memoryEntriesPerShardMin: 2_048,
  memoryShardBitsMax: 8,
  /**
   * Decisions the in-process engine keeps per session: a replay window, not a history. A player
   * repeats only requests it saw unanswered, at most `pendingMessagesPerConnectionMax` of them.
   */
  memoryDecisionsPerSessionMax: 64,
  /**
   * Distinct decision reasons shared at most, and the longest shared (see `FrameDecider`). A
   * steady show has a few dozen; numbers in them (a shortfall, a multiplier) vary slowly.
   */
  reasonTextsMax: 4_096,
  reasonTextLengthMax: 200,
  /** User-days of demand counts the in-process engine keeps (a month of days for ~30,000 users). */
  memoryUserDaysMax: 1_000_000,
  /** How long a user-day's counts are kept: the demand forecast reads four weeks back. */
  userDayTtlMs: 35 * 24 * 60 * 60 * 1000,
  /** How often the in-process engine sweeps expired entries. */
  memorySweepIntervalMs: 30_000,
  /**
   * A user's credit view is read from PostgreSQL again after this long even without an announced
   * change: announcements heal a missed one within seconds, and a player's balance may lag a lost
   * bus message by this much at most (debits are checked under the account's lock regardless).
   */
  creditViewTtlMs: 15_000,
  /** Background reads of credit views claimed within this long are one query. */
  creditViewRefreshBatchMs: 50,
  /** Users one background read of credit views asks for at most. */
  creditViewRefreshBatchMax: 500,
  /**
   * Reads a caller waits for (accounts at the upgrade, credit views a session has none of yet) are
   * one query per batch of at most `batchMax` users, with at most `inFlightMax` batches out at once
   * per kind: past that the next batch gathers until one is back (db/batchedReads.ts). A batch not
   * answered within `timeoutMs` (the statement timeout) fails, and frees its place.
   */
  accountReads: { batchMax: 200, inFlightMax: 2, timeoutMs: 10_000 },
  creditViewReads: { batchMax: 200, inFlightMax: 2, timeoutMs: 10_000 },
  /** Credit views (one per user with a live session) a process keeps; ~1 KB each. */
  creditViewsMax: 200_000,
  /**
   * A user whose inbox was found empty is not asked again for this long unless one of their
   * generations ends first (announced on the bus); a lost announcement delays a frame this much.
   */
  inboxHintTtlMs: 30_000,
  /** Background looks at inboxes asked for within this long are one query, of at most the max users. */
  inboxLookBatchMs: 50,
  inboxLookBatchMax: 500,
  /** Users whose inbox state a process remembers (~100 bytes each); past it all is forgotten. */
  inboxHintsMax: 200_000,
  /** A state-engine call slower than this fails the request rather than stalling the show. */
  stateCommandTimeoutMs: 2_000,

  /**
   * Fresh frames one session may wait for at once. A DJ asking four frames a second from a slow
   * provider would otherwise queue dozens of paid images it can never watch; past this the
   * session gets library frames until some arrive.
   */
  pendingFreshPerSessionMax: 4,

  // --- Generation ------------------------------------------------------------------------------
  /** Prompt-cache hits one group-commit statement charges at most (its JSON stays ~20 KB). */
  chargeBatchMax: 32,
  /**
   * Group-commit statements in flight at once: while they run the next batch gathers. Three keep
   * batches forming while others commit, and leave most of the pool to everything else.
   */
  chargeBatchesInFlightMax: 3,
  /**
   * A full prompt's list of cached images (it gets no more) is read again after this long, so an
   * image the daily eviction removed is not offered for longer.
   */
  promptVariantsReadMs: 60_000,
  /** Full prompt lists kept in memory (16 entries each): the prompts of the music playing now. */
  promptVariantsKeptMax: 10_000,
  /** Hits waiting for a batch; past this a hit takes the ordinary path (one transaction). */
  chargeQueueMax: 2_000,
  /** Overdue generations and unsettled debits handled per sweep (the next sweep takes the rest). */
  sweepBatchMax: 100,
  /** Prompt-cache entries unused this long are forgotten by the daily eviction job. */
  promptCacheUnusedMs: 7 * 24 * 3600 * 1000,
  /**
   * A ready fresh frame belongs to the `next` waiting for it this long before any other request of
   * the user may take it from the inbox (covers the bus delivering the news a little late).
   */
  inboxHandoffMs: 10_000,
  /** A job housekeeping thread that died is started again after this long (jobs/housekeeping.ts). */
  housekeepingRestartMs: 5_000,
  /** A housekeeping thread whose pg-boss has not started this long after the thread did is ended (and started again later). */
  housekeepingStartTimeoutMs: 30_000,
  /** A housekeeping thread that has not stopped its pg-boss this long after being asked is ended. */
  housekeepingStopGraceMs: 8_000,
  /** pg-boss expires an active job this long after GEN_TIMEOUT_MS (our own deadline fires first). */
  jobExpiryMarginSeconds: 30,

  // --- Pantry ----------------------------------------------------------------------------------
  /** Frames the in-memory catalog indexes; far above the demo pantry, bounded all the same. */
  catalogFramesMax: 500_000,
  /** Images rendered at once while seeding (sharp also uses its own thread pool). */
  demoRenderConcurrency: 4,
  /**
   * An uploaded image's bytes: a 50-megapixel camera JPEG is 15–25 MB and a 4K PNG screenshot
   * 10–25 MB, so 25 MiB takes any honest picture and is held in memory without worry.
   */
  ingestBytesMax: 25 * 1024 * 1024,
  /**
   * Pixels an upload may declare, checked in its header before decoding: the largest common
   * camera sensors are 45–50 megapixels, and a small file claiming more is a decompression bomb.
   */
  ingestPixelsMax: 50_000_000,
  /**
   * An upload's shorter side. Frames are 720 pixels on their shorter side; below half of that the
   * picture is enlarged more than twice on screen and looks it.
   */
  ingestSidePixelsMin: 360,
  /**
   * A master's long side (larger uploads are scaled down, smaller ones kept as they are): 4K,
   * enough to crop a portrait frame from a landscape master without enlarging it, and more only
   * costs disk and decode time.
   */
  masterSidePixelsMax: 3840,

  // --- Pantry: seen frames, variants, coverage and fills -----------------------------------------
  /**
   * Frames remembered as seen per user and genre × mood. Above any bucket we expect to hold (the
   * guardrails ask for 60 unseen), so a user exhausts a bucket before forgetting any of it.
   */
  seenFramesPerGroupMax: 5_000,
  /** A user's seen frames are forgotten this long after their last write: about one cycle. */
  seenTtlMs: 35 * 24 * 60 * 60 * 1000,
  /**
   * Distinct short names (tiers, zones, genres, moods, devices) a process keeps one shared copy of;
   * at it the pool starts over.
   */
  pooledTextsMax: 20_000,
  /**
   * Distinct music contexts (genre, mood, energy) a process keeps one shared copy of; at it the pool
   * starts over. A context costs ~200 B here (its key and frozen copy), so the pool stays under
   * ~4 MB; contexts repeat across sessions (one kind of music, the same labels and energies), so
   * it shares most of a busy node's, and past it sessions only keep copies of their own for a while.
   */
  pooledContextsMax: 20_000,
  /** Seen sets (user × group) the in-process engine keeps; beyond it, ones not used lately go first (a clock cache). */
  memorySeenScopesMax: 200_000,
  /** Adapted variants kept in memory (the rest are on disk): ~1,000 frames of ~60 KB. */
  variantMemoryBytesMax: 64 * 1024 * 1024,
  /**
   * Variant renders at once per process (0.1-0.7 s each). sharp runs on libuv's pool of four
   * threads, which file reads share: two renders leave room for serving frames.
   */
  variantRendersMax: 2,
  /** Variants rendered ahead of the player's fetch at once; past it, the fetch renders. */
  variantWarmingMax: 16,
  /** User × bucket pairs whose unseen depth the coverage report tracks per process (the users updated most recently kept). */
  coverageActivePairsMax: 50_000,
  /** A user counts as active in a bucket's report this long after their last frame from it. */
  coverageActiveWindowMs: 60 * 60 * 1000,
  /** Coverage misses are written to the database in batches this often. */
  coverageMissFlushIntervalMs: 5_000,
  /** Buckets with misses held in memory between flushes (catalog buckets, so few). */
  coverageMissBucketsMax: 10_000,
  /** Hours of misses the fill plan ranks by; older rows are deleted. */
  coverageMissWindowHours: 24,
  /** Fill generations queued by one scheduled run, over all buckets (a local render is ~0.1 s). */
  pantryFillPerRunMax: 30,
  /** Fill generations under way for one bucket at once (a miss storm must not queue hundreds). */
  pantryFillOpenPerBucketMax: 6,
  /** Fill generations queued at once when a decision misses (the scheduled run does the rest). */
  pantryFillPerMiss: 2,
  /** A bucket's misses queue fills at most this often per process. */
  pantryFillMissIntervalMs: 60_000,
  /** A fill may wait behind interactive work this long before it is given up. */
  pantryFillDeadlineMs: 30 * 60_000,

  // --- Decision journal ------------------------------------------------------------------------
  /**
   * Decisions (and rewards, whose log shares the bounds) written by one INSERT: one round trip
   * instead of a hundred, far inside the statement timeout. Small enough that a busy process (2,000 decisions a second) writes a batch every 50 ms,
   * so a buffered row (~1 KB of JSON) is mostly gone before the next young-generation collection
   * and is not copied into the old one: 500 rows, a quarter of a second there, added ~0.4 KB per
   * decision to what each collection promoted.
   */
  decisionJournalBatchMax: 100,
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
  /**
   * The evidence pool's size: the decision journal and the reward log, each with at most one batch
   * in flight, and their partition and retention upkeep. Apart from the main pool, so evidence
   * never takes a client a debit is waiting for; its commits are asynchronous (db/pool.ts).
   */
  evidencePoolSize: 3,
  /** A query slower than this is cancelled by PostgreSQL. */
  statementTimeoutMs: 10_000,
  /** Waiting for a pooled connection longer than this fails the request. */
  connectTimeoutMs: 5_000,
  /** How long the embedded PostgreSQL may take to start (first start includes initdb). */
  embeddedStartTimeoutMs: 60_000,
  /**
   * The most credits a balance may hold after a grant: the ledger's amounts and balances are
   * 32-bit integers (2,147,483,647), and a cycle's refill and rollover still have to fit on top.
   */
  creditBalanceMax: 1_000_000_000,
  /**
   * The most credits one member's month may bring, region multiplier included. With a rollover
   * cap of at most 100 months, one member's balance stays under `creditBalanceMax` plus a refill.
   */
  creditQuotaPerMemberMax: 10_000_000,
  /**
   * The most credits one account's cycle may bring in all (a team pool's quota is its members'
   * sum, and a member joining mid-cycle adds theirs): past it a pool's refill is held to it. With
   * the rollover held to `creditBalanceMax` too, a balance stays under 1.5 billion, inside the
   * ledger's 32-bit amounts, however many members a pool has (50 at the member maximum reach it).
   */
  creditQuotaPerAccountMax: 500_000_000,
  /** The most credits one grant may give. */
  creditGrantMax: 10_000_000,
  /** Accounts whose cycle may fail in one run of the cycle job before the run stops: beyond a few bad accounts, it is an outage. */
  cycleFailuresMax: 20,

  // --- Lifecycle -------------------------------------------------------------------------------
  /** Time in-flight requests get to finish on shutdown before engines are closed anyway. */
  shutdownDrainMs: 5_000,
  /** Player token lifetime when `npm run token` is given no `--ttl`. */
  tokenTtlSecondsDefault: 3600,
  /** The longest token `npm run token` will issue (30 days). */
  tokenTtlSecondsMax: 30 * 24 * 3600,
} as const;
