/**
 * What a viewer has seen in one library group: frame id → when it was seen, a larger number being
 * later (only the order means anything). Choosing a frame asks whether each candidate was seen and,
 * when all were, which was seen longest ago: a lookup per candidate, so a choice costs the size of
 * the bucket, never the length of the viewer's history (up to `seenFramesPerGroupMax` frames).
 *
 * It is read-only to whoever decides: the in-process engine hands out its own live map.
 */
export type SeenFrames = ReadonlyMap<string, number>;

/** Frames listed oldest first, as seen frames (tests, and engines that store a list). */
export function seenInOrder(frameIds: readonly string[]): SeenFrames {
  return new Map(frameIds.map((frameId, index) => [frameId, index]));
}

/** Nothing seen. */
export const nothingSeen: SeenFrames = new Map();
