/**
 * Rollout switches: whether the bandit acts for a user. Pure.
 *
 *   on      it computes a nudge, logs it, and the controller's p is multiplied by it;
 *   shadow  it computes and logs the nudge, and p is left alone (to compare before acting);
 *   off     it does not look at the decision at all.
 *
 * A default mode, an override per tier, and a share of users: a user whose stable bucket
 * (a hash of the user id, 0..99) is at or above `percent` is `off` whatever their tier says, so
 * raising the percentage only ever adds users, and a user stays in or out across sessions.
 */
export const rolloutModes = ['on', 'off', 'shadow'] as const;
export type RolloutMode = (typeof rolloutModes)[number];

export type Rollout = { mode: RolloutMode; tiers: Record<string, RolloutMode>; percent: number };

/** The user's bucket, 0..99: FNV-1a of the id (stable across processes and restarts). */
export function bucketOf(userId: string): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < userId.length; index += 1) {
    hash ^= userId.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % 100;
}

export function rolloutModeOf(userId: string, tier: string, rollout: Rollout): RolloutMode {
  if (bucketOf(userId) >= rollout.percent) return 'off';
  return rollout.tiers[tier] ?? rollout.mode;
}
