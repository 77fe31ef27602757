/**
 * The decision path: for one `next`, choose fresh or library and the frame to show.
 *
 * A decision is made in two steps: the titration controller (pure, `titration/`) says whether this
 * frame should be fresh and with what probability, given the user's budget, pace and modes and how
 * well the library covers the track; the *fulfilment* turns the chosen source into a frame — the
 * pantry for library, a generation for fresh, with fallbacks when fresh cannot be had (not enough
 * credits, a congested queue, a failed generation).
 */
import type { Context, Fallback, FrameSource, Orientation } from '@titrate/shared';
import type { FreshFrames } from '../generation/fresh.js';
import { styleFor } from '../generation/prompt.js';
import type { Generation } from '../generation/store.js';
import { limits } from '../limits.js';
import { frameSizes } from '../pantry/art.js';
import type { LibraryChoice, PantryCatalog } from '../pantry/catalog.js';
import type { SeenFrames } from '../pantry/seen.js';
import { describeShortfalls, libraryHealth, orientationScarcity, shortfallsOf, type CoverageCheck, type CoverageRules } from '../pantry/coverage.js';
import { TextPool } from '../texts.js';
import type { CycleClock } from '../titration/clock.js';
import { explain, titrate, type SessionPacing, type Titration, type TitrationSettings } from '../titration/controller.js';
import type { DayCounts, Demand } from '../titration/forecast.js';
import type { PolicyName } from '../titration/policies.js';
import type { UserAccount } from '../users/directory.js';

/** What the session knows about the user's pace, for the controller. */
export type PaceInput = {
  policy: PolicyName;
  available: number;
  used: number;
  clock: CycleClock;
  demand: Demand;
  /** What the user did today (all sessions) before this frame. */
  today: DayCounts;
  conserve: boolean;
  freshShown: number;
  frameIntervalMs: number | null;
  pacing: SessionPacing;
};

export type DecisionInput = {
  sessionId: string;
  requestId: string;
  account: UserAccount;
  context: Context;
  orientation: Orientation;
  /** Frames this user saw in the context's library group (`FrameDecider.groupOf`). */
  seen: SeenFrames;
  /** When the user's burst ends (ISO), or null without one. */
  burstUntil: string | null;
  nowMs: number;
  /** Frames this session has shown so far. */
  framesShown: number;
  /** The session's last beacon was a like. */
  justLiked: boolean;
  /** Fresh frames this session is still waiting for. */
  pendingFresh: number;
  pace: PaceInput;
  /** The bandit's multiplier on p when it acts for this user (1 or absent otherwise). */
  nudge?: number;
};

export type Decision = {
  id: string;
  source: FrameSource;
  /** What the player fetches: the frame, or its variant adapted to the screen. */
  frameId: string;
  /** What the user has now seen: the master frame (the same as `frameId` unless adapted). */
  seenId: string;
  width: number;
  height: number;
  orientation: Orientation;
  fallback: Fallback;
  charged: number;
  p: number;
  genre: string;
  mood: string;
  style: string;
  reasons: string[];
};

export type DecisionOutcome = (
  | { kind: 'frame'; decision: Decision }
  /** A fresh frame is being generated; the `next` is answered when it is ready or has failed. */
  | { kind: 'pending'; generationId: string; etaMs: number; deadlineAtMs: number; p: number; fallback: Fallback }
) & { titration: Titration };

/**
 * How poorly the library serves this track, 0..1 (the controller leans to fresh when it is poor):
 * 1 − the coverage's health, and at least 0.5 when the track was mapped to a neighbouring group.
 */
export function libraryPenaltyOf(choice: LibraryChoice | null, rules: CoverageRules): number {
  if (choice === null || choice.repeated) return 1;
  return Math.max(choice.group.exact ? 0 : 0.5, 1 - libraryHealth(choice.coverage, rules));
}

/** Every library check, met or not: the coverage report's unseen depths come from these. */
export type CoverageObserver = (check: CoverageCheck) => void;

export class FrameDecider {
  readonly #catalog: PantryCatalog;
  readonly #fresh: FreshFrames | null;
  readonly #random: () => number;
  readonly #newId: () => string;
  readonly #settings: TitrationSettings | undefined;
  readonly #freshCostMin: number;
  readonly #rules: CoverageRules;
  readonly #observe: CoverageObserver;
  /**
   * A decision's reasons are kept with it for its replay window (64 a session): pooled, the same
   * few dozen texts are shared instead of made anew for every decision and kept for minutes.
   */
  readonly #reasonTexts = new TextPool(limits.reasonTextsMax, limits.reasonTextLengthMax);

  constructor(services: {
    catalog: PantryCatalog;
    fresh: FreshFrames | null;
    random: () => number;
    newId: () => string;
    /** Credits of the cheapest fresh frame (the controller never picks fresh below it). */
    freshCostMin: number;
    /** The pantry's coverage guardrails. */
    coverage: CoverageRules;
    /** Told about every coverage check (report, metrics, fills). */
    observeCoverage: CoverageObserver;
    settings?: TitrationSettings;
  }) {
    this.#catalog = services.catalog;
    this.#fresh = services.fresh;
    this.#random = services.random;
    this.#newId = services.newId;
    this.#settings = services.settings;
    this.#freshCostMin = services.freshCostMin;
    this.#rules = services.coverage;
    this.#observe = services.observeCoverage;
  }

  /** The library group a context maps to (its seen frames are what `decide` needs), or null. */
  groupOf(context: Context): { genre: string; mood: string } | null {
    return this.#catalog.resolve(context);
  }

  /** The controller's verdict for this frame (pure; the choice tells it how good the library is). */
  #titrate(input: DecisionInput, choice: LibraryChoice | null, coverageShort: boolean): Titration {
    const { pace } = input;
    return titrate(
      {
        policy: pace.policy, available: pace.available, used: pace.used, lengthDays: pace.clock.lengthDays, elapsedDays: pace.clock.elapsedDays,
        dayElapsed: pace.clock.dayElapsed, demand: pace.demand, today: pace.today, framesShown: input.framesShown, conserve: pace.conserve,
        libraryPenalty: libraryPenaltyOf(choice, this.#rules), orientationScarcity: choice === null ? 0 : orientationScarcity(choice.coverage),
        unlimited: input.account.unlimited, burst: input.burstUntil !== null && Date.parse(input.burstUntil) > input.nowMs,
        freshShown: pace.freshShown, frameIntervalMs: pace.frameIntervalMs, freshCostMin: this.#freshCostMin, random: this.#random(),
        coverageShort, nudge: input.nudge ?? 1,
      },
      pace.pacing,
      this.#settings,
    );
  }

  /** Null when no frame can be served for this context and orientation. */
  async decide(input: DecisionInput): Promise<DecisionOutcome | null> {
    const choice = this.#catalog.choose(input.context, input.orientation, input.seen, this.#random);
    const shortfalls = choice === null ? [] : shortfallsOf(choice.coverage, this.#rules);
    if (choice !== null) {
      const bucket = { genre: choice.group.genre, mood: choice.group.mood, orientation: input.orientation };
      this.#observe({ userId: input.account.id, bucket, coverage: choice.coverage, shortfalls });
    }
    const titration = this.#titrate(input, choice, shortfalls.length > 0);
    // The policy's reasons: the library's shortfall first, then the controller's (a new array).
    const reasons = explain(titration);
    if (shortfalls.length > 0) reasons.unshift(describeShortfalls(choice!.coverage, this.#rules, shortfalls));
    if (!titration.fresh || this.#fresh === null) {
      if (titration.fresh) reasons.push('fresh frames are not enabled on this server');
      return this.#library(choice, input.orientation, titration, null, reasons);
    }
    if (input.pendingFresh >= limits.pendingFreshPerSessionMax) {
      return this.#library(choice, input.orientation, titration, null, [...reasons, `${input.pendingFresh} fresh frames are still on their way`]);
    }
    const freshFallback: Fallback = titration.mode === 'forced' ? 'forced_fresh' : 'exact';
    const { width, height } = frameSizes[input.orientation];
    const order = await this.#fresh.order({
      account: input.account, sessionId: input.sessionId, requestId: input.requestId, context: input.context, orientation: input.orientation,
      style: styleFor(input.context, input.framesShown + input.pendingFresh), width, height, seen: input.seen, p: titration.p, reasons,
      framesShown: input.framesShown, justLiked: input.justLiked, strongLibraryMatch: choice !== null && choice.group.exact && shortfalls.length === 0,
    });
    switch (order.kind) {
      case 'ready':
        return { kind: 'frame', decision: this.fromGeneration(order.generation, [], freshFallback), titration };
      case 'pending':
        return {
          kind: 'pending', generationId: order.generationId, etaMs: order.etaMs, deadlineAtMs: order.deadlineAtMs, p: titration.p, fallback: freshFallback,
          titration,
        };
      case 'congested': {
        const wait = order.etaMs < 0 ? 'no generation worker is running' : `fresh frames are ~${Math.round(order.etaMs / 1000)} s away`;
        return this.#library(choice, input.orientation, titration, 'congested', [...reasons, `${wait}: library now, the fresh frame follows in the background`]);
      }
      case 'saturated':
        return this.#library(choice, input.orientation, titration, 'congested', [...reasons, `${order.open} fresh frames are already coming in the background: library now`]);
      case 'insufficient':
        return this.#library(choice, input.orientation, titration, null, [...reasons, `not enough credits for a fresh frame (${order.available} of ${order.required})`]);
    }
  }

  /** The library frame of `choice` as the decision (none without a choice), with the policy's reasons and then the choice's. */
  #library(choice: LibraryChoice | null, screen: Orientation, titration: Titration, fallback: Fallback | null, reasons: string[]): DecisionOutcome | null {
    return choice === null ? null : { kind: 'frame', decision: this.#fromChoice(choice, screen, fallback, titration.p, reasons), titration };
  }

  /** A library frame standing in for a fresh one that could not be had. */
  fallback(input: Pick<DecisionInput, 'context' | 'orientation' | 'seen'>, fallback: Fallback, p: number, reasons: string[]): Decision | null {
    const choice = this.#catalog.choose(input.context, input.orientation, input.seen, this.#random);
    return choice === null ? null : this.#fromChoice(choice, input.orientation, fallback, p, reasons);
  }

  /**
   * Up to `count` distinct unseen library frames for a player to keep for an offline spell: the
   * catalog's choice, repeated with each chosen frame counted as seen. Nothing is decided or
   * recorded here; the caller remembers what it handed out.
   */
  stock(input: Pick<DecisionInput, 'context' | 'orientation' | 'seen'>, count: number): Decision[] {
    const seen = new Map(input.seen);
    const chosen: Decision[] = [];
    for (let index = 0; index < count; index += 1) {
      const choice = this.#catalog.choose(input.context, input.orientation, seen, this.#random);
      if (choice === null || choice.repeated) break;
      chosen.push(this.#fromChoice(choice, input.orientation, null, 0, ['kept for offline']));
      seen.set(choice.frame.id, Number.MAX_SAFE_INTEGER);
    }
    return chosen;
  }

  /**
   * A library decision. Its `fallback` says why it is library when fresh was wanted (congested,
   * generation failed), and otherwise how the frame fits the screen (exact, crop, fill).
   */
  #fromChoice(choice: LibraryChoice, screen: Orientation, fallback: Fallback | null, p: number, reasons: string[]): Decision {
    const { frame, plan } = choice;
    const adapted = plan.fit !== 'exact';
    const size = adapted ? frameSizes[screen] : frame;
    return {
      id: this.#newId(),
      source: 'library',
      frameId: choice.servedId,
      seenId: frame.id,
      width: size.width,
      height: size.height,
      orientation: adapted ? screen : frame.orientation,
      fallback: fallback ?? plan.fit,
      charged: 0,
      p,
      genre: choice.group.genre,
      mood: choice.group.mood,
      style: frame.style,
      reasons: this.#pooled(reasons, choice.reasons),
    };
  }

  /** The decision that shows a generated frame; its id is the generation's, which beacons name. Its reasons are pooled as a library decision's are. */
  fromGeneration(generation: Generation, extraReasons: readonly string[] = [], fallback: Fallback = 'exact'): Decision {
    return {
      id: generation.id,
      source: 'fresh',
      frameId: generation.frameId!,
      seenId: generation.frameId!,
      width: generation.width,
      height: generation.height,
      orientation: generation.orientation,
      fallback,
      charged: generation.charge === 'none' ? 0 : generation.credits,
      p: generation.p,
      genre: generation.genre,
      mood: generation.mood,
      style: generation.style,
      reasons: this.#pooled(generation.reasons, extraReasons),
    };
  }

  /** `reasons` followed by `more`, each the pooled copy. */
  #pooled(reasons: readonly string[], more: readonly string[]): string[] {
    // Made at its exact size (an array grown by pushes keeps twice the room it needs, for minutes).
    const all = reasons.concat(more);
    for (let index = 0; index < all.length; index += 1) all[index] = this.#reasonTexts.of(all[index]!);
    return all;
  }
}
