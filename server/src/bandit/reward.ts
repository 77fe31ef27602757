/**
 * From a beacon to a reward, and which beacons count at all. Pure.
 *
 * A shown frame's reward is 1 when it stayed on screen at least `dwellMsMin` (10 s by default) or
 * was liked, else 0 (a skip is 0 unless liked). Only the first beacon for a frame counts, only
 * the frame's own user may report it, and only within `windowMs` of the decision: a beacon that
 * arrives later tells more about a reconnecting device than about the frame.
 */
import { ErrorCode } from '@titrate/shared';

export type RewardRules = { dwellMsMin: number; windowMs: number };

/**
 * How long what a beacon needs is kept: a quarter (at least a minute) past the window, so a late
 * beacon is told it is late rather than unknown. It bounds the engine's records: frames per second × this.
 */
export const shownRecordTtlMs = (rules: RewardRules): number => rules.windowMs + Math.max(60_000, Math.round(rules.windowMs / 4));

export const defaultRewardRules: RewardRules = { dwellMsMin: 10_000, windowMs: 3_600_000 };

export function rewardOf(beacon: { dwellMs: number; liked?: boolean | undefined; skipped?: boolean | undefined }, rules: RewardRules): 0 | 1 {
  if (beacon.liked === true) return 1;
  if (beacon.skipped === true) return 0;
  return beacon.dwellMs >= rules.dwellMsMin ? 1 : 0;
}

/** What the server remembers of a delivered frame (or a stock item) until its beacon window closes. */
export type ShownRecord = {
  /** The user it was shown to. */
  user: string;
  /** When it was decided (epoch ms). */
  at: number;
  /** tier|genre|mood, or null when it belongs to no segment. */
  segment: string | null;
  source: 'fresh' | 'library';
  /** The policy could have chosen otherwise (titrated, no mode or constraint). */
  eligible: boolean;
  /** A stock item (offline frame): the master to mark seen and its group. */
  stock?: { seenId: string; genre: string; mood: string };
};

export type BeaconRefusal = typeof ErrorCode.unknownFrame | typeof ErrorCode.foreignBeacon | typeof ErrorCode.lateBeacon;

/**
 * Why a beacon for `record` cannot count (before the duplicate check), or null when it can. A stock
 * item is reported after an offline spell, so its window is at least `stockWindowMs` from when it
 * was handed out.
 */
export function beaconRefusal(record: ShownRecord | null, userId: string, nowMs: number, rules: RewardRules, stockWindowMs = 0): BeaconRefusal | null {
  if (record === null) return ErrorCode.unknownFrame;
  if (record.user !== userId) return ErrorCode.foreignBeacon;
  const windowMs = record.stock === undefined ? rules.windowMs : Math.max(rules.windowMs, stockWindowMs);
  if (nowMs - record.at > windowMs) return ErrorCode.lateBeacon;
  return null;
}

/** The segment of a decision: the tier and the library group the context maps to ("other" without one). */
export function segmentOf(tier: string, group: { genre: string; mood: string } | null): string {
  return group === null ? `${tier}|other|other` : `${tier}|${group.genre}|${group.mood}`;
}
