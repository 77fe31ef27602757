/**
 * The decision path: for one `next`, choose fresh or library and the frame to show.
 *
 * A decision is made in two steps so that later capabilities slot in without reshaping it:
 * a *policy* says how likely fresh should be (the titration controller, fed by the ledger and the
 * bandit), and the *fulfilment* turns the chosen source into a frame (the pantry for library,
 * generation for fresh, with fallbacks). This server has no credits to spend yet, so its policy
 * is "library, p = 0" and every decision is fulfilled from the pantry.
 */
import type { Context, Fallback, FrameSource, Orientation } from '@titrate/shared';
import type { PantryCatalog } from '../pantry/catalog.js';
import type { UserAccount } from '../users/directory.js';

export type DecisionInput = {
  sessionId: string;
  requestId: string;
  account: UserAccount;
  context: Context;
  orientation: Orientation;
  /** Frames this viewer saw, oldest first. */
  seen: readonly string[];
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

export interface Decider {
  /** Null when no frame can be served for this context and orientation. */
  decide(input: DecisionInput): Promise<Decision | null>;
}

export type SourcePolicy = { source: FrameSource; p: number; reasons: string[] };

export class LibraryDecider implements Decider {
  readonly #catalog: PantryCatalog;
  readonly #random: () => number;
  readonly #newId: () => string;

  constructor(catalog: PantryCatalog, random: () => number, newId: () => string) {
    this.#catalog = catalog;
    this.#random = random;
    this.#newId = newId;
  }

  policy(): SourcePolicy {
    return { source: 'library', p: 0, reasons: ['fresh frames are not enabled on this server'] };
  }

  async decide(input: DecisionInput): Promise<Decision | null> {
    const policy = this.policy();
    const pick = this.#catalog.pick(input.context, input.orientation, input.seen, this.#random);
    if (pick === null) return null;
    return {
      id: this.#newId(),
      source: 'library',
      frameId: pick.frame.id,
      width: pick.frame.width,
      height: pick.frame.height,
      orientation: pick.frame.orientation,
      fallback: 'exact',
      charged: 0,
      p: policy.p,
      genre: pick.bucket.genre,
      mood: pick.bucket.mood,
      style: pick.frame.style,
      reasons: [...policy.reasons, ...pick.reasons],
    };
  }
}
