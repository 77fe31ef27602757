/**
 * One session's side of titration: the controller's per-session memory (held level, dither phase,
 * policy memory) and the pace of its frames. It is made at the session's first frame (a `next`, or
 * an offline frame a beacon reports): an idle session has none. The account's demand, read from the day counts in the session-state engine once
 * per local day, is the account's and is held for all its sessions (`demandOn`, stream/liveAccounts.ts).
 *
 * Counts are kept per *account* (a user, or a team pool) and per local day, server-side: the
 * client never tells us how much it watched. They are written when a frame is delivered, so every
 * session of the account — on any node — sees the others' frames in today's counts.
 */
import type { FrameSource } from '@titrate/shared';
import type { PaceInput } from '../decision/decider.js';
import { limits } from '../limits.js';
import type { SessionStateEngine } from '../state/engine.js';
import { cycleClockOf, localDayOf, previousDayKeys, type CycleClock } from '../titration/clock.js';
import { newSessionPacing, type SessionPacing } from '../titration/controller.js';
import { demandModel, demandOf, type DayCounts, type Demand } from '../titration/forecast.js';
import type { PolicyName } from '../titration/policies.js';
import type { CreditState } from '../credits/view.js';

/** The user's local day now, what the account did in it so far, and its demand. */
export type PaceDay = { local: { dayKey: string; dayElapsed: number }; demand: Demand; today: DayCounts };

/** The account's demand on a local day: at once when it is held, else its read. */
export type DemandOn = (dayKey: string) => Demand | Promise<Demand>;

/** Reads an account's demand on local day `dayKey` from the days before it. */
export async function readDemand(engine: SessionStateEngine, accountId: string, dayKey: string): Promise<Demand> {
  return demandOf(await engine.getDays(accountId, previousDayKeys(dayKey, demandModel.historyDays)));
}

/**
 * The dither phase is kept as a whole number of these steps: a small integer is stored in the
 * session itself, a fraction would be a separate heap number in every idle session.
 */
const phaseSteps = 2 ** 30;

/** Weight of the newest interval in the session's mean time between frames. */
const intervalSmoothing = 0.3;

export class SessionPace {
  readonly #engine: SessionStateEngine;
  readonly #accountId: string;
  readonly #zone: string;
  readonly #demandOn: DemandOn;
  /** The controller's memory, made at the first decision (an idle session has none). */
  #pacing: SessionPacing | null = null;
  /** The dither phase in `phaseSteps` (0..phaseSteps-1). */
  readonly #phase: number;
  #lastFrameMs: number | null = null;
  #frameIntervalMs: number | null = null;

  constructor(engine: SessionStateEngine, accountId: string, zone: string, phase: number, demandOn: DemandOn) {
    this.#engine = engine;
    this.#accountId = accountId;
    this.#zone = zone;
    this.#demandOn = demandOn;
    this.#phase = Math.min(phaseSteps - 1, Math.max(0, Math.floor(phase * phaseSteps)));
  }

  /** Today's counts of the account and its demand (read in parallel with the balance). */
  async today(nowMs: number): Promise<PaceDay> {
    const local = localDayOf(nowMs, this.#zone);
    const demand = this.#demandOn(local.dayKey);
    // The demand is read once a day: a frame of a day already read waits for today's counts alone.
    if (!(demand instanceof Promise)) {
      const [today] = await this.#engine.getDays(this.#accountId, [local.dayKey]);
      return { local, demand, today: today! };
    }
    const [read, [today]] = await Promise.all([demand, this.#engine.getDays(this.#accountId, [local.dayKey])]);
    return { local, demand: read, today: today! };
  }

  /** Everything the controller needs about pace for a frame now. */
  input(nowMs: number, credits: CreditState, day: PaceDay, policy: PolicyName, conserve: boolean, freshShown: number): PaceInput {
    const clock: CycleClock = cycleClockOf(nowMs, credits.cycleStartMs, credits.cycleEndMs, day.local);
    return {
      policy, available: credits.available, used: credits.used, clock, demand: day.demand, today: day.today, conserve, freshShown,
      frameIntervalMs: this.#frameIntervalMs, pacing: (this.#pacing ??= newSessionPacing(this.#phase / phaseSteps)),
    };
  }

  /** Keeps the controller's memory after a decision. */
  remember(pacing: SessionPacing): void {
    this.#pacing = pacing;
  }

  /** Counts a delivered frame into the account's day and the session's pace. */
  async delivered(nowMs: number, source: FrameSource, charged: number): Promise<void> {
    if (this.#lastFrameMs !== null) {
      const interval = nowMs - this.#lastFrameMs;
      this.#frameIntervalMs = this.#frameIntervalMs === null ? interval : this.#frameIntervalMs + intervalSmoothing * (interval - this.#frameIntervalMs);
    }
    this.#lastFrameMs = nowMs;
    const { dayKey } = localDayOf(nowMs, this.#zone);
    await this.#engine.countDay(this.#accountId, dayKey, { frames: 1, fresh: source === 'fresh' ? 1 : 0, credits: charged }, limits.userDayTtlMs);
  }
}
