/**
 * The simulator's bounds, in one place. A run holds every user's per-day counts in memory
 * (about 3 numbers × days per user and policy), so the population is bounded; the rest keeps a
 * typo on the command line from asking for something absurd.
 */
export const limits = {
  /** Simulated users per run: 1,000,000 × 31 days × 3 counts × 8 bytes is ~750 MB per policy. */
  usersMax: 1_000_000,
  /** A billing cycle is 28–31 days; longer runs are allowed for what-ifs, up to a quarter. */
  daysMax: 92,
  /** Worker threads; more than the machine's cores only adds contention. */
  workersMax: 64,
  /**
   * Users per job handed to a worker: small enough to spread DJs (a DJ makes ~100× the decisions of
   * a casual listener) evenly over the workers, large enough that messages cost nothing.
   */
  usersPerJob: 100,
  /**
   * Decisions one bandit-experiment run may log for offline evaluation: 33 bytes each in columns,
   * ~110 as the objects the evaluation reads, so 10 million is ~1.4 GB at the peak.
   */
  loggedDecisionsMax: 10_000_000,
  /** What the experiment logs unless told otherwise: a uniform sample of about this many decisions. */
  loggedDecisionsDefault: 2_000_000,
} as const;
