/**
 * The decision path: for one `next`, choose fresh or library and the frame to show.
 *
 * A decision is made in two steps so that later capabilities slot in without reshaping it:
 * a *policy* says how likely fresh should be, and the *fulfilment* turns the chosen source into a
 * frame — the pantry for library, a generation for fresh, with fallbacks when fresh cannot be had
 * (not enough credits, a congested queue, a failed generation). The policy here is the simplest
 * one that exercises generation end to end: a session in burst mode is always fresh (p = 1),
 * anything else is library (p = 0). The titration controller replaces it.
 */
import type { Context, Fallback, FrameSource, Orientation } from '@titrate/shared';
import type { FreshFrames } from '../generation/fresh.js';
import { styleFor } from '../generation/prompt.js';
import type { Generation } from '../generation/store.js';
import { limits } from '../limits.js';
import { frameSizes } from '../pantry/art.js';
import type { LibraryPick, PantryCatalog } from '../pantry/catalog.js';
import type { UserAccount } from '../users/directory.js';

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

export type DecisionOutcome =
  | { kind: 'frame'; decision: Decision }
  /** A fresh frame is being generated; the `next` is answered when it is ready or has failed. */
  | { kind: 'pending'; generationId: string; etaMs: number; deadlineAtMs: number; p: number };

export type SourcePolicy = { source: FrameSource; p: number; reasons: string[] };

/** Burst mode is always fresh; everything else is library until the controller decides (pure). */
export function burstPolicy(input: Pick<DecisionInput, 'burstUntil' | 'nowMs'>): SourcePolicy {
  if (input.burstUntil !== null && Date.parse(input.burstUntil) > input.nowMs) return { source: 'fresh', p: 1, reasons: ['burst mode: always fresh'] };
  return { source: 'library', p: 0, reasons: ['no burst: library frames'] };
}

export class FrameDecider {
  readonly #catalog: PantryCatalog;
  readonly #fresh: FreshFrames | null;
  readonly #random: () => number;
  readonly #newId: () => string;

  constructor(services: { catalog: PantryCatalog; fresh: FreshFrames | null; random: () => number; newId: () => string }) {
    this.#catalog = services.catalog;
    this.#fresh = services.fresh;
    this.#random = services.random;
    this.#newId = services.newId;
  }

  /** Null when no frame can be served for this context and orientation. */
  async decide(input: DecisionInput): Promise<DecisionOutcome | null> {
    const policy = burstPolicy(input);
    const pick = this.#catalog.pick(input.context, input.orientation, input.seen, this.#random);
    const library = (fallback: Fallback, reasons: string[]) => (pick === null ? null : this.#fromPick(pick, fallback, policy.p, [...policy.reasons, ...reasons]));
    if (policy.source === 'library' || this.#fresh === null) {
      const decision = library('exact', this.#fresh === null && policy.source === 'fresh' ? ['fresh frames are not enabled on this server'] : []);
      return decision === null ? null : { kind: 'frame', decision };
    }
    if (input.pendingFresh >= limits.pendingFreshPerSessionMax) {
      const decision = library('exact', [`${input.pendingFresh} fresh frames are still on their way`]);
      return decision === null ? null : { kind: 'frame', decision };
    }
    const { width, height } = frameSizes[input.orientation];
    const order = await this.#fresh.order({
      account: input.account, sessionId: input.sessionId, requestId: input.requestId, context: input.context, orientation: input.orientation,
      style: styleFor(input.context, input.framesShown + input.pendingFresh), width, height, seen: input.seen, p: policy.p, reasons: policy.reasons,
      framesShown: input.framesShown, justLiked: input.justLiked, strongLibraryMatch: pick?.bucket.exact ?? false,
    });
    switch (order.kind) {
      case 'ready':
        return { kind: 'frame', decision: fromGeneration(order.generation) };
      case 'pending':
        return { kind: 'pending', generationId: order.generationId, etaMs: order.etaMs, deadlineAtMs: order.deadlineAtMs, p: policy.p };
      case 'congested': {
        const wait = order.etaMs < 0 ? 'no generation worker is running' : `fresh frames are ~${Math.round(order.etaMs / 1000)} s away`;
        const decision = library('congested', [`${wait}: library now, the fresh frame follows in the background`]);
        return decision === null ? null : { kind: 'frame', decision };
      }
      case 'saturated': {
        const decision = library('congested', [`${order.open} fresh frames are already coming in the background: library now`]);
        return decision === null ? null : { kind: 'frame', decision };
      }
      case 'insufficient': {
        const decision = library('exact', [`not enough credits for a fresh frame (${order.available} of ${order.required})`]);
        return decision === null ? null : { kind: 'frame', decision };
      }
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
