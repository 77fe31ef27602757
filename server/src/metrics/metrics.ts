/**
 * Prometheus metrics on a registry of Titrate's own (never the global one, so that two servers in
 * one process — as in tests — do not collide). Label values come from closed sets (message types,
 * error codes), never from user input, so the series count is bounded.
 */
import { Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { TalliedCounter, TalliedHistogram } from './tally.js';

export type Metrics = ReturnType<typeof createMetrics>;

/** What the pool gauge reads from a PostgreSQL pool when scraped (`pg.Pool` has all three). */
export type PoolCounts = { readonly totalCount: number; readonly idleCount: number; readonly waitingCount: number };

export function createMetrics() {
  const registry = new Registry();
  const pools = new Map<string, PoolCounts>();
  collectDefaultMetrics({ register: registry, prefix: 'titrate_process_' });
  return {
    registry,
    connections: new Gauge({ name: 'titrate_connections', help: 'Open WebSocket connections', registers: [registry] }),
    upgradesRefused: new TalliedCounter({
      name: 'titrate_upgrades_refused_total',
      help: 'WebSocket upgrades refused before the socket opened, by HTTP status',
      labelNames: ['status'] as const,
      registers: [registry],
    }),
    messagesIn: new TalliedCounter({
      name: 'titrate_messages_in_total',
      help: 'Client messages received, by type ("invalid" when undecodable)',
      labelNames: ['type'] as const,
      registers: [registry],
    }),
    messagesOut: new TalliedCounter({
      name: 'titrate_messages_out_total',
      help: 'Server messages sent, by type',
      labelNames: ['type'] as const,
      registers: [registry],
    }),
    sendsDropped: new TalliedCounter({
      name: 'titrate_sends_dropped_total',
      help: 'Messages not sent because the socket had closed or was over its backpressure limit',
      registers: [registry],
    }),
    errors: new TalliedCounter({
      name: 'titrate_errors_total',
      help: 'Error messages sent to clients, by code',
      labelNames: ['code'] as const,
      registers: [registry],
    }),
    closes: new TalliedCounter({
      name: 'titrate_closes_total',
      help: "WebSocket closes, by close code (the protocol's codes, 1005 and 1006; any other code a client sends is \"other\")",
      labelNames: ['code'] as const,
      registers: [registry],
    }),
    decisionLatency: new TalliedHistogram({
      name: 'titrate_decision_latency_seconds',
      help: 'Time from a next request to its decision, by source',
      labelNames: ['source'] as const,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    sessionStart: new TalliedHistogram({
      name: 'titrate_session_start_seconds',
      help: 'Time to start a session, by stage: upgrade (from the WebSocket upgrade request to the socket opened: the token checked, the account read), hello (from reading hello to sending welcome)',
      labelNames: ['stage'] as const,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    decisions: new TalliedCounter({
      name: 'titrate_decisions_total',
      help: 'Decisions made, by source and fallback',
      labelNames: ['source', 'fallback'] as const,
      registers: [registry],
    }),
    decisionReplays: new TalliedCounter({
      name: 'titrate_decision_replays_total',
      help: 'next requests answered from an earlier decision with the same id',
      registers: [registry],
    }),
    decisionJournal: new TalliedCounter({
      name: 'titrate_decision_journal_total',
      help: 'Decisions offered to the journal, by result: written, dropped (buffer full, stopped, or retry failed), invalid; failed counts decisions in refused writes',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
    decisionJournalBuffered: new Gauge({
      name: 'titrate_decision_journal_buffered',
      help: 'Decisions waiting in memory to be written to the journal (including a batch awaiting its retry)',
      registers: [registry],
    }),
    rewardLog: new TalliedCounter({
      name: 'titrate_reward_log_total',
      help: 'Counted beacons offered to the reward log, by result: written, dropped, invalid, failed',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
    rewardLogBuffered: new Gauge({
      name: 'titrate_reward_log_buffered',
      help: 'Rewards waiting in memory to be written',
      registers: [registry],
    }),
    beaconResults: new TalliedCounter({
      name: 'titrate_beacon_results_total',
      help: 'Beacons by result: rewarded, unrewarded, offline (a stock frame shown without a connection), or the code it was refused with',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
    banditLeans: new TalliedCounter({
      name: 'titrate_bandit_leans_total',
      help: 'Decisions the bandit looked at, by rollout mode (on, shadow) and the arm it leaned to (none while warming up)',
      labelNames: ['mode', 'arm'] as const,
      registers: [registry],
    }),
    banditSegments: new Gauge({
      name: 'titrate_bandit_segments',
      help: 'Bandit segments with statistics (tier × genre × mood)',
      registers: [registry],
    }),
    debits: new TalliedCounter({
      name: 'titrate_debits_total',
      help: 'Credit debits, by kind and result',
      labelNames: ['kind', 'result'] as const,
      registers: [registry],
    }),
    ledgerDrift: new TalliedCounter({
      name: 'titrate_ledger_drift_total',
      help: 'Credit snapshots found to disagree with the ledger (and repaired)',
      registers: [registry],
    }),
    ledgerDriftRatio: new Gauge({
      name: 'titrate_ledger_drift_ratio',
      help: 'Share of accounts whose snapshot drifted at the last reconcile (alert above 0.01)',
      registers: [registry],
    }),
    generations: new TalliedCounter({
      name: 'titrate_generations_total',
      help: 'Generations ended, by model and outcome (ready, late, timeout, rate_limited, malformed, unavailable, rejected, deadline, internal)',
      labelNames: ['model', 'outcome'] as const,
      registers: [registry],
    }),
    generationSeconds: new Histogram({
      name: 'titrate_generation_seconds',
      help: 'Time from a worker claiming a generation to its image being stored, by model',
      labelNames: ['model'] as const,
      buckets: [0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60],
      registers: [registry],
    }),
    generationWait: new Histogram({
      name: 'titrate_generation_wait_seconds',
      help: 'Time a generation waited in its queue before a worker claimed it',
      labelNames: ['queue'] as const,
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300],
      registers: [registry],
    }),
    generationDollars: new TalliedCounter({
      name: 'titrate_generation_cost_dollars_total',
      help: 'What generations cost us at the configured per-image prices, by model',
      labelNames: ['model'] as const,
      registers: [registry],
    }),
    generationQueue: new Gauge({
      name: 'titrate_generation_queue',
      help: 'Generations waiting (queued) and being generated (running), at the last sample',
      labelNames: ['state'] as const,
      registers: [registry],
    }),
    generationSlots: new Gauge({
      name: 'titrate_generation_worker_slots',
      help: 'Worker slots alive across all processes, at the last sample',
      registers: [registry],
    }),
    generationEta: new Histogram({
      name: 'titrate_generation_eta_seconds',
      help: 'Estimated wait for a fresh frame when it was ordered (above the threshold: congested)',
      buckets: [0.5, 1, 2, 5, 10, 20, 30, 60, 120],
      registers: [registry],
    }),
    refunds: new TalliedCounter({
      name: 'titrate_refunds_total',
      help: 'Debits refunded, by reason (generation_failed, not_delivered, not_displayed); compare with titrate_debits_total',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    providerRetries: new TalliedCounter({
      name: 'titrate_provider_retries_total',
      help: 'Provider calls retried within a generation, by reason',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    promptCache: new TalliedCounter({
      name: 'titrate_prompt_cache_total',
      help: 'Prompt cache lookups for fresh frames, by result (hit, miss)',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
    cachedChargeBatch: new Histogram({
      name: 'titrate_cached_charge_batch_size',
      help: 'Prompt-cache hits charged per group-commit statement',
      buckets: [1, 2, 4, 8, 16, 32, 64],
      registers: [registry],
    }),
    beacons: new TalliedCounter({
      name: 'titrate_beacons_total',
      help: 'Beacons received, by what they did (counted, liked, kept_charge)',
      labelNames: ['effect'] as const,
      registers: [registry],
    }),
    httpRequests: new TalliedCounter({
      name: 'titrate_http_requests_total',
      help: 'HTTP requests, by route and status',
      labelNames: ['route', 'status'] as const,
      registers: [registry],
    }),
    coverageMisses: new TalliedCounter({
      name: 'titrate_pantry_coverage_miss_total',
      help: 'Decisions whose library bucket failed the coverage guardrails, by bucket (catalog buckets only) and shortfall',
      labelNames: ['genre', 'mood', 'orientation', 'shortfall'] as const,
      registers: [registry],
    }),
    coverageFrames: new Gauge({
      name: 'titrate_pantry_frames',
      help: 'Library frames per bucket, in the bucket\'s own orientation',
      labelNames: ['genre', 'mood', 'orientation'] as const,
      registers: [registry],
    }),
    coverageStyles: new Gauge({
      name: 'titrate_pantry_styles',
      help: 'Distinct styles per bucket',
      labelNames: ['genre', 'mood', 'orientation'] as const,
      registers: [registry],
    }),
    coverageUnseenLow: new Gauge({
      name: 'titrate_pantry_unseen_depth_p10',
      help: 'Unseen frames left for the 10% of recently active users with the fewest, per bucket',
      labelNames: ['genre', 'mood', 'orientation'] as const,
      registers: [registry],
    }),
    pantryFills: new TalliedCounter({
      name: 'titrate_pantry_fills_total',
      help: 'Pantry fill generations, by result (queued, ready, over_budget; failures count in titrate_generations_total)',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
    /** Pools the gauge below reads at each scrape, by name. */
    pools,
    databasePoolClients: new Gauge({
      name: 'titrate_db_pool_clients',
      help: 'PostgreSQL pool clients by pool (main, jobs, evidence) and state (total, idle, waiting: queries waiting for a client), at the scrape',
      labelNames: ['pool', 'state'] as const,
      registers: [registry],
      collect() {
        for (const [pool, counts] of pools) {
          this.set({ pool, state: 'total' }, counts.totalCount);
          this.set({ pool, state: 'idle' }, counts.idleCount);
          this.set({ pool, state: 'waiting' }, counts.waitingCount);
        }
      },
    }),
    databasePoolWait: new TalliedHistogram({
      name: 'titrate_db_pool_wait_seconds',
      help: 'Time a query or transaction waited for a PostgreSQL pool client, by pool (main, jobs, evidence)',
      labelNames: ['pool'] as const,
      buckets: [0.0005, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    pantryVariants: new TalliedCounter({
      name: 'titrate_pantry_variants_total',
      help: 'Adapted frame variants served, by where they came from (memory, disk, rendered)',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
  };
}
