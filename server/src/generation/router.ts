/**
 * Cost routing (pure): which grade of model, if any, serves a decision.
 *
 *   p > 0.7         premium — the controller is confident fresh is worth it
 *   0.3 ≤ p ≤ 0.7   cheap   — fresh, but not at any price
 *   p < 0.3         library — free (the controller rarely picks fresh here; when it does, cheap)
 *
 * Two quality gates move a decision between grades:
 *   - a "wow moment" (the first frames of a session, the frame right after a like) prefers
 *     premium: first impressions and moments of delight are where quality is noticed;
 *   - low energy with a strong library match prefers cheap: a calm track that the pantry already
 *     covers well gains little from the expensive model.
 * The wow moment wins when both apply: it is the rarer and more visible of the two.
 */
import type { ModelGrade } from './models.js';

export type RouteInput = {
  /** The probability of fresh the decision used. */
  p: number;
  /** Frames this session has been shown so far. */
  framesShown: number;
  /** The previous beacon of this session was a like. */
  justLiked: boolean;
  energy: number;
  /** The pantry has an exact bucket for this context and orientation. */
  strongLibraryMatch: boolean;
};

export type Route = { grade: ModelGrade; reasons: string[] };

export const routing = {
  premiumAboveP: 0.7,
  cheapFromP: 0.3,
  /** The first this-many frames of a session are a wow moment. */
  wowFrames: 3,
  /** Energy at or below this counts as low. */
  lowEnergyMax: 0.35,
} as const;

export function routeFresh(input: RouteInput): Route {
  const wow = input.framesShown < routing.wowFrames || input.justLiked;
  const calmAndCovered = input.energy <= routing.lowEnergyMax && input.strongLibraryMatch;
  if (wow) return { grade: 'premium', reasons: [input.justLiked ? 'right after a like: premium model' : 'opening frames: premium model'] };
  if (calmAndCovered) return { grade: 'cheap', reasons: ['low energy and a good library match: cheap model'] };
  if (input.p > routing.premiumAboveP) return { grade: 'premium', reasons: [`p ${input.p.toFixed(2)} > ${routing.premiumAboveP}: premium model`] };
  return { grade: 'cheap', reasons: [`p ${input.p.toFixed(2)} ≤ ${routing.premiumAboveP}: cheap model`] };
}
