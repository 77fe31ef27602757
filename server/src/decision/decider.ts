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
import type { LibraryPick, PantryCatalog } from '../pantry/catalog.js';
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
  /** Frames this viewer saw, oldest first. */
  seen: readonly string[];
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
};

export type Decision = {
  id: string;
  source: FrameSource;
  frameId: string;
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
  | { kind: 'pending'; generationId: string; etaMs: number; deadlineAtMs: number; p: number }
) & { titration: Titration };

/** How poorly the library serves this track, 0..1 (the controller leans to fresh when it is poor). */
export function libraryPenaltyOf(pick: LibraryPick | null): number {
  if (pick === null || pick.repeated) return 1;
  return pick.bucket.exact ? 0 : 0.5;
}

export class FrameDecider {
  readonly #catalog: PantryCatalog;
  readonly #fresh: FreshFrames | null;
  readonly #random: () => number;
  readonly #newId: () => string;
  readonly #settings: TitrationSettings | undefined;
  readonly #freshCostMin: number;

  constructor(services: {
    catalog: PantryCatalog;
    fresh: FreshFrames | null;
    random: () => number;
    newId: () => string;
    /** Credits of the cheapest fresh frame (the controller never picks fresh below it). */
    freshCostMin: number;
    settings?: TitrationSettings;
  }) {
    this.#catalog = services.catalog;
    this.#fresh = services.fresh;
    this.#random = services.random;
    this.#newId = services.newId;
    this.#settings = services.settings;
    this.#freshCostMin = services.freshCostMin;
  }

  /** The controller's verdict for this frame (pure; the pick tells it how good the library is). */
  #titrate(input: DecisionInput, pick: LibraryPick | null): Titration {
    const { pace } = input;
    return titrate(
      {
        policy: pace.policy, available: pace.available, used: pace.used, lengthDays: pace.clock.lengthDays, elapsedDays: pace.clock.elapsedDays,
        dayElapsed: pace.clock.dayElapsed, demand: pace.demand, today: pace.today, framesShown: input.framesShown, conserve: pace.conserve,
        libraryPenalty: libraryPenaltyOf(pick), orientationScarcity: this.#catalog.orientationScarcity(input.context, input.orientation),
        unlimited: input.account.unlimited, burst: input.burstUntil !== null && Date.parse(input.burstUntil) > input.nowMs,
        freshShown: pace.freshShown, frameIntervalMs: pace.frameIntervalMs, freshCostMin: this.#freshCostMin, random: this.#random(),
      },
      pace.pacing,
      this.#settings,
    );
  }

  /** Null when no frame can be served for this context and orientation. */
  async decide(input: DecisionInput): Promise<DecisionOutcome | null> {
    const pick = this.#catalog.pick(input.context, input.orientation, input.seen, this.#random);
    const titration = this.#titrate(input, pick);
    const policy = { source: titration.fresh ? 'fresh' : 'library', p: titration.p, reasons: explain(titration) };
    const library = (fallback: Fallback, reasons: string[]) => {
      const decision = pick === null ? null : this.#fromPick(pick, fallback, policy.p, [...policy.reasons, ...reasons]);
      return decision === null ? null : { kind: 'frame' as const, decision, titration };
    };
    if (policy.source === 'library' || this.#fresh === null) {
      return library('exact', this.#fresh === null && policy.source === 'fresh' ? ['fresh frames are not enabled on this server'] : []);
    }
    if (input.pendingFresh >= limits.pendingFreshPerSessionMax) {
      return library('exact', [`${input.pendingFresh} fresh frames are still on their way`]);
    }
    const { width, height } = frameSizes[input.orientation];
    const order = await this.#fresh.order({
      account: input.account, sessionId: input.sessionId, requestId: input.requestId, context: input.context, orientation: input.orientation,
      style: styleFor(input.context, input.framesShown + input.pendingFresh), width, height, seen: input.seen, p: policy.p, reasons: policy.reasons,
      framesShown: input.framesShown, justLiked: input.justLiked, strongLibraryMatch: pick?.bucket.exact ?? false,
    });
    switch (order.kind) {
      case 'ready':
        return { kind: 'frame', decision: fromGeneration(order.generation), titration };
      case 'pending':
        return { kind: 'pending', generationId: order.generationId, etaMs: order.etaMs, deadlineAtMs: order.deadlineAtMs, p: policy.p, titration };
      case 'congested': {
        const wait = order.etaMs < 0 ? 'no generation worker is running' : `fresh frames are ~${Math.round(order.etaMs / 1000)} s away`;
        return library('congested', [`${wait}: library now, the fresh frame follows in the background`]);
      }
      case 'saturated':
        return library('congested', [`${order.open} fresh frames are already coming in the background: library now`]);
      case 'insufficient':
        return library('exact', [`not enough credits for a fresh frame (${order.available} of ${order.required})`]);
    }
  }

  /** A library frame standing in for a fresh one that could not be had. */
  fallback(input: Pick<DecisionInput, 'context' | 'orientation' | 'seen'>, fallback: Fallback, p: number, reasons: string[]): Decision | null {
    const pick = this.#catalog.pick(input.context, input.orientation, input.seen, this.#random);
    return pick === null ? null : this.#fromPick(pick, fallback, p, reasons);
  }

  #fromPick(pick: LibraryPick, fallback: Fallback, p: number, reasons: string[]): Decision {
    return {
      id: this.#newId(),
      source: 'library',
      frameId: pick.frame.id,
      width: pick.frame.width,
      height: pick.frame.height,
      orientation: pick.frame.orientation,
      fallback,
      charged: 0,
      p,
      genre: pick.bucket.genre,
      mood: pick.bucket.mood,
      style: pick.frame.style,
      reasons: [...reasons, ...pick.reasons],
    };
  }
}

/** The decision that shows a generated frame; its id is the generation's, which beacons name. */
export function fromGeneration(generation: Generation, extraReasons: string[] = []): Decision {
  return {
    id: generation.id,
    source: 'fresh',
    frameId: generation.frameId!,
    width: generation.width,
    height: generation.height,
    orientation: generation.orientation,
    fallback: 'exact',
    charged: generation.charge === 'none' ? 0 : generation.credits,
    p: generation.p,
    genre: generation.genre,
    mood: generation.mood,
    style: generation.style,
    reasons: [...generation.reasons, ...extraReasons],
  };
}
